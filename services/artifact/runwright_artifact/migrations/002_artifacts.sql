CREATE TABLE artifact.artifacts (
    id            uuid        PRIMARY KEY,
    job_id        uuid        NOT NULL,
    ordinal       integer,
    kind          text        NOT NULL CHECK (kind IN ('screenshot', 'video', 'export', 'download')),
    name          text        NOT NULL,
    original_name text,
    size          bigint      NOT NULL,
    content_type  text        NOT NULL,
    sha256        text        NOT NULL,
    storage_key   text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX artifacts_job_idx ON artifact.artifacts (job_id, created_at);
CREATE INDEX artifacts_expiry_idx ON artifact.artifacts (expires_at);

CREATE TABLE artifact.outbox (
    id         bigserial   PRIMARY KEY,
    subject    text        NOT NULL,
    payload    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
