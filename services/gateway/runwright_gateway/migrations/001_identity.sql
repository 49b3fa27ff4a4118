-- The gateway owns who may do what: workspaces and the API keys that act in them. The schema
-- itself is made by runwright_db.migrate (or by deploy/postgres/roles.sql).
COMMENT ON SCHEMA gateway IS 'Written by the gateway: workspaces, API keys.';

CREATE TABLE gateway.workspaces (
    slug       text        PRIMARY KEY CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$'),
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Jobs that existed before workspaces carry 'default' already (queue.jobs.workspace).
INSERT INTO gateway.workspaces (slug, name, created_by) VALUES ('default', 'Default', 'installation');

-- A key is shown once; only its SHA-256 is kept (a key holds 32 random bytes, so a slow hash buys
-- nothing), with a prefix people can recognise it by.
CREATE TABLE gateway.api_keys (
    id           uuid        PRIMARY KEY,
    workspace    text        NOT NULL REFERENCES gateway.workspaces (slug),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix       text        NOT NULL UNIQUE,
    digest       bytea       NOT NULL UNIQUE,
    role         text        NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'member', 'viewer')),
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   text
);
CREATE INDEX api_keys_workspace_idx ON gateway.api_keys (workspace, created_at DESC, id DESC);
-- A name says which key is which: one live key per name in a workspace.
CREATE UNIQUE INDEX api_keys_live_name_idx ON gateway.api_keys (workspace, name) WHERE revoked_at IS NULL;
