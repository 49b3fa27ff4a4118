-- The schema itself is made by runwright_db.migrate (or deploy/postgres/roles.sql).

CREATE TABLE queue.jobs (
    id               uuid        PRIMARY KEY,
    workspace        text        NOT NULL DEFAULT 'default',
    title            text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('scheduled', 'queued', 'running',
                                     'waiting_for_approval', 'paused', 'completed', 'failed',
                                     'cancelled')),
    version          integer     NOT NULL DEFAULT 1,
    attempt          integer     NOT NULL DEFAULT 0,
    executor_id      text,
    lease_expires_at timestamptz,
    priority         integer     NOT NULL DEFAULT 0,
    trigger          text        NOT NULL DEFAULT 'api',
    submitted_by     text        NOT NULL,
    labels           jsonb       NOT NULL DEFAULT '{}',
    runbook          jsonb       NOT NULL,
    variables        jsonb       NOT NULL DEFAULT '{}',
    steps_total      integer     NOT NULL,
    event_seq        bigint      NOT NULL DEFAULT 0,
    reason           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz
);

-- Keyset pagination, newest first, overall and per status.
CREATE INDEX jobs_created_idx ON queue.jobs (created_at DESC, id DESC);
CREATE INDEX jobs_status_created_idx ON queue.jobs (status, created_at DESC, id DESC);
-- The reaper looks for expired leases among active jobs only.
CREATE INDEX jobs_lease_idx ON queue.jobs (lease_expires_at)
    WHERE status IN ('running', 'paused', 'waiting_for_approval');

-- Run secrets live only while the job can still run; deleted at the terminal transition.
CREATE TABLE queue.job_secrets (
    job_id  uuid  PRIMARY KEY REFERENCES queue.jobs (id) ON DELETE CASCADE,
    secrets jsonb NOT NULL
);

CREATE TABLE queue.job_steps (
    job_id      uuid        NOT NULL REFERENCES queue.jobs (id) ON DELETE CASCADE,
    ordinal     integer     NOT NULL,
    description text        NOT NULL,
    action_type text        NOT NULL,
    status      text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'success', 'failed', 'skipped')),
    attempt     integer     NOT NULL DEFAULT 0,
    started_at  timestamptz,
    finished_at timestamptz,
    duration_ms integer,
    retries     integer     NOT NULL DEFAULT 0,
    captured    jsonb       NOT NULL DEFAULT '{}',
    error       jsonb,
    PRIMARY KEY (job_id, ordinal)
);

-- The job's event log; seq is per job, gap-free, and the SSE id.
CREATE TABLE queue.job_events (
    job_id     uuid        NOT NULL REFERENCES queue.jobs (id) ON DELETE CASCADE,
    seq        bigint      NOT NULL,
    type       text        NOT NULL,
    body       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, seq)
);

CREATE TABLE queue.outbox (
    id         bigserial   PRIMARY KEY,
    subject    text        NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queue.processed_messages (
    consumer     text        NOT NULL,
    msg_id       text        NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, msg_id)
);
