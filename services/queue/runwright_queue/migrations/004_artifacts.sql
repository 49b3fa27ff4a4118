ALTER TABLE queue.jobs ADD COLUMN options jsonb NOT NULL DEFAULT '{}';

-- Artifacts the artifact service stored for a job (its copy of what the stream announced).
CREATE TABLE queue.job_artifacts (
    artifact_id  uuid        PRIMARY KEY,
    job_id       uuid        NOT NULL REFERENCES queue.jobs (id) ON DELETE CASCADE,
    kind         text        NOT NULL,
    name         text        NOT NULL,
    size         bigint      NOT NULL,
    content_type text        NOT NULL,
    sha256       text        NOT NULL,
    ordinal      integer,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX job_artifacts_job_idx ON queue.job_artifacts (job_id);

-- A finished run whose staged artifacts are not all stored yet: the job finishes when the last
-- one arrives, or at the deadline (the reaper), so its report and artifact events come first.
CREATE TABLE queue.pending_finishes (
    job_id   uuid        PRIMARY KEY REFERENCES queue.jobs (id) ON DELETE CASCADE,
    finish   jsonb       NOT NULL,
    deadline timestamptz NOT NULL
);
