-- Per-workspace limits, and the workspace in every event's subject.
--
-- queue.workspace_limits: a workspace's own concurrency limit and queue cap (NULL: the
-- installation's, RUNWRIGHT_WORKSPACE_CONCURRENCY and RUNWRIGHT_MAX_QUEUED). The queue writes it
-- when the gateway asks (runwright.queue.workspace_limits); the gateway reads it.
CREATE TABLE queue.workspace_limits (
    workspace   text        PRIMARY KEY,
    concurrency integer     CHECK (concurrency BETWEEN 0 AND 100000),
    max_queued  integer     CHECK (max_queued BETWEEN 0 AND 10000000),
    updated_by  text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- claim_next: 013's, with the workspace's own concurrency limit when it has one, and the claim's
-- event on runwright.events.<workspace>.<job_id> (subject_prefix is now runwright.events.).
CREATE OR REPLACE FUNCTION queue.claim_next(
    active text[], concurrency integer, executor text, lease_ms double precision,
    event text, subject_prefix text, known_keys text[]
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
        attempt = j.attempt + 1, executor_id = executor,
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
