-- An idempotent claim. The executor names each claim it makes (ClaimJob.claim_id, a fresh uuid)
-- and, when the answer does not come (a NATS node died between the grant and the reply), asks
-- again with the same id. The queue keeps the id with the grant (queue.jobs.claim_id); a claim
-- whose id names a job that the same executor still holds (the same attempt: a later claim of
-- the job writes its own id) gets that grant again: the same job, attempt, runbook and secrets,
-- its lease extended as a renewal would, and no transition, event or outbox row. Without this
-- the job stayed running under an executor that never heard of it until its lease ran out.
ALTER TABLE queue.jobs ADD COLUMN claim_id uuid;
CREATE INDEX jobs_claim_id_idx ON queue.jobs (claim_id) WHERE claim_id IS NOT NULL;

-- claim_next: 015's, with the claim's id. A claim named again comes back with outcome `again`.
-- Tries of one claim run one at a time (a transaction-scoped advisory lock on the id, in a key
-- space of its own: the two-key form): a retry that reaches another queue replica while the
-- first try is still in its transaction waits for it, then finds its grant, instead of taking
-- a second job that nobody would run.
CREATE FUNCTION queue.claim_next(
    active text[], concurrency integer, executor text, lease_ms double precision,
    event text, subject_prefix text, known_keys text[], claim uuid
) RETURNS TABLE (
    outcome text, job_id uuid, attempt integer, runbook jsonb, variables jsonb, data jsonb,
    options jsonb, key_id text, nonce bytea, ciphertext bytea
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    best record;
    running integer;
    claimed queue.jobs;
    body text;
BEGIN
    IF claim IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('queue.claim_id'), hashtext(claim::text));
        UPDATE queue.jobs j SET lease_expires_at = greatest(
            j.lease_expires_at, now() + make_interval(secs => lease_ms / 1000.0))
        WHERE j.claim_id = claim AND j.executor_id = executor AND j.status = ANY(active)
        RETURNING j.* INTO claimed;
        IF FOUND THEN
            RETURN QUERY SELECT 'again', claimed.id, claimed.attempt, claimed.runbook,
                claimed.variables, claimed.data, claimed.options, s.key_id, s.nonce,
                s.ciphertext
                FROM (SELECT 1) AS one LEFT JOIN queue.job_secrets s ON s.job_id = claimed.id;
            RETURN;
        END IF;
    END IF;
    SELECT j.id, j.workspace INTO best FROM queue.jobs j
    WHERE j.status = 'queued'
      AND (SELECT count(*) FROM queue.jobs a WHERE a.workspace = j.workspace
           AND a.status = ANY(active))
          < coalesce((SELECT l.concurrency FROM queue.workspace_limits l
                      WHERE l.workspace = j.workspace), concurrency)
    ORDER BY j.priority DESC, j.created_at, j.id
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        -- Queued jobs nobody else is claiming right now: if any, their workspace is full.
        PERFORM 1 FROM queue.jobs WHERE status = 'queued' LIMIT 1 FOR UPDATE SKIP LOCKED;
        RETURN QUERY SELECT CASE WHEN FOUND THEN 'full' ELSE 'empty' END,
            NULL::uuid, NULL::integer, NULL::jsonb, NULL::jsonb, NULL::jsonb, NULL::jsonb,
            NULL::text, NULL::bytea, NULL::bytea;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(best.workspace));
    SELECT count(*) INTO running FROM queue.jobs
    WHERE workspace = best.workspace AND status = ANY(active);
    IF running >= coalesce((SELECT l.concurrency FROM queue.workspace_limits l
                            WHERE l.workspace = best.workspace), concurrency) THEN
        RETURN QUERY SELECT 'full', NULL::uuid, NULL::integer, NULL::jsonb, NULL::jsonb,
            NULL::jsonb, NULL::jsonb, NULL::text, NULL::bytea, NULL::bytea;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM queue.job_secrets s WHERE s.job_id = best.id
               AND (s.key_id IS NULL OR NOT s.key_id = ANY(known_keys))) THEN
        RETURN QUERY SELECT 'unreadable', best.id, NULL::integer, NULL::jsonb, NULL::jsonb,
            NULL::jsonb, NULL::jsonb, s.key_id, NULL::bytea, NULL::bytea
            FROM queue.job_secrets s WHERE s.job_id = best.id;
        RETURN;
    END IF;
    UPDATE queue.jobs j SET
        status = 'running', version = j.version + 1, updated_at = now(), reason = NULL,
        attempt = j.attempt + 1, executor_id = executor, claim_id = claim,
        lease_expires_at = now() + make_interval(secs => lease_ms / 1000.0),
        started_at = now(), report_seq = 0, event_seq = j.event_seq + 1
    WHERE j.id = best.id AND j.status = 'queued'
    RETURNING j.* INTO claimed;
    UPDATE queue.job_steps SET attempt = claimed.attempt WHERE job_id = claimed.id;
    body := replace(replace(
        replace(event, '"job_id":"00000000-0000-0000-0000-000000000000"',
                '"job_id":"' || claimed.id::text || '"'),
        '"workspace":"$",', '"workspace":' || to_json(claimed.workspace)::text || ','),
        '"seq":0,', '"seq":' || claimed.event_seq || ',');
    INSERT INTO queue.job_events (job_id, seq, type, body)
    VALUES (claimed.id, claimed.event_seq, 'status', body);
    INSERT INTO queue.outbox (subject, payload)
    VALUES (subject_prefix || claimed.workspace || '.' || claimed.id::text,
            convert_to(body, 'UTF8'));
    RETURN QUERY SELECT 'granted', claimed.id, claimed.attempt, claimed.runbook,
        claimed.variables, claimed.data, claimed.options, s.key_id, s.nonce, s.ciphertext
        FROM (SELECT 1) AS one LEFT JOIN queue.job_secrets s ON s.job_id = claimed.id;
END
$$;

-- The previous release's call (seven arguments; its replicas run beside ours during a rolling
-- upgrade) is this one's with no claim id: one body to keep, and its claims clear a job's old id.
CREATE OR REPLACE FUNCTION queue.claim_next(
    active text[], concurrency integer, executor text, lease_ms double precision,
    event text, subject_prefix text, known_keys text[]
) RETURNS TABLE (
    outcome text, job_id uuid, attempt integer, runbook jsonb, variables jsonb, data jsonb,
    options jsonb, key_id text, nonce bytea, ciphertext bytea
)
LANGUAGE sql AS $$
    SELECT * FROM queue.claim_next(
        active, concurrency, executor, lease_ms, event, subject_prefix, known_keys, NULL::uuid)
$$;
