-- Every action a person (or the system) takes on a job, applied or refused: the audit log.
CREATE TABLE queue.job_actions (
    id          bigserial   PRIMARY KEY,
    job_id      uuid        NOT NULL,
    action      text        NOT NULL,
    actor       text        NOT NULL,
    reason      text,
    request_id  text,
    from_status text,
    to_status   text,
    applied     boolean     NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_actions_job_idx ON queue.job_actions (job_id, at);

-- Approvals are decided in the same transaction as the job's status change.
CREATE TABLE queue.job_approvals (
    id                     uuid        PRIMARY KEY,
    job_id                 uuid        NOT NULL REFERENCES queue.jobs (id) ON DELETE CASCADE,
    attempt                integer     NOT NULL,
    ordinal                integer     NOT NULL,
    state                  text        NOT NULL DEFAULT 'requested' CHECK (state IN
                               ('requested', 'approved', 'rejected', 'skipped', 'timed_out',
                                'cancelled')),
    description            text        NOT NULL,
    risk_level             text        NOT NULL,
    captured               jsonb       NOT NULL DEFAULT '{}',
    screenshot_artifact_id uuid,
    requested_at           timestamptz NOT NULL DEFAULT now(),
    deadline               timestamptz NOT NULL,
    decided_at             timestamptz,
    actor                  text,
    reason                 text,
    UNIQUE (job_id, attempt, ordinal)
);
CREATE INDEX job_approvals_pending_idx ON queue.job_approvals (deadline) WHERE state = 'requested';
