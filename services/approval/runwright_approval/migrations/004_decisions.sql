-- The approval service owns approvals: each request (one per queue approval) with the policy it
-- was decided under, and every decision on it, whatever its outcome. Append-only decisions; a
-- request's state closes once.
COMMENT ON SCHEMA approval IS 'Written by the approval service: approval requests and decisions, webhook subscriptions, their deliveries and attempts.';

-- id is the queue's approval id (queue.job_approvals.id). Recorded by whichever comes first: the
-- approval event (approval-notify) or the first decision on it.
-- state: open until decided (approved, rejected, skipped), or closed by the job moving on
-- (timed_out, cancelled, superseded: the queue refused the final decision).
CREATE TABLE approval.requests (
    id           uuid        PRIMARY KEY,
    job_id       uuid        NOT NULL,
    workspace    text        NOT NULL,
    attempt      integer     NOT NULL,
    ordinal      integer     NOT NULL,
    submitted_by text,
    policy       jsonb       NOT NULL DEFAULT '{}',
    required     integer     NOT NULL DEFAULT 1 CHECK (required >= 1),
    state        text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'approved',
                                 'rejected', 'skipped', 'timed_out', 'cancelled', 'superseded')),
    requested_at timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz,
    UNIQUE (job_id, attempt, ordinal)
);
CREATE INDEX requests_open ON approval.requests (job_id) WHERE state = 'open';

-- id is the gateway's decision id: a redelivered request finds its decision recorded and gets
-- the same answer. approval_id is null when no approval was pending (the job had moved on).
-- outcome: counted (an approval of several needed), applied (the queue moved the job),
-- superseded (the job moved on first), refused (the policy: why says role, user or four_eyes).
CREATE TABLE approval.decisions (
    id          uuid        PRIMARY KEY,
    approval_id uuid        REFERENCES approval.requests (id) ON DELETE CASCADE,
    job_id      uuid        NOT NULL,
    workspace   text        NOT NULL,
    ordinal     integer,
    action      text        NOT NULL CHECK (action IN ('approve', 'reject', 'skip')),
    actor       text        NOT NULL,
    user_id     uuid,
    role        text        NOT NULL,
    via         text        NOT NULL DEFAULT 'api' CHECK (via IN ('api', 'slack')),
    outcome     text        NOT NULL CHECK (outcome IN ('counted', 'applied', 'superseded',
                                'refused')),
    why         text,
    detail      text,
    reason      text,
    request_id  text,
    status      text        NOT NULL,
    required    integer     NOT NULL DEFAULT 1,
    given       integer     NOT NULL DEFAULT 0,
    decided_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX decisions_by_approval ON approval.decisions (approval_id, decided_at);
CREATE INDEX decisions_by_job ON approval.decisions (job_id, decided_at);
