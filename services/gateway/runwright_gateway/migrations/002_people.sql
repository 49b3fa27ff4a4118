-- People: accounts, their memberships of workspaces, invitations, console sessions and the
-- record of failed sign-ins that slows guessing. All written by the gateway alone.
COMMENT ON SCHEMA gateway IS 'Written by the gateway: workspaces, API keys, people, sessions, audit.';

-- An account. The password is kept as an argon2id hash (PHC string); an e-mail address names one
-- account across the installation, compared without case.
CREATE TABLE gateway.users (
    id                  uuid        PRIMARY KEY,
    email               text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    name                text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash       text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    password_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_idx ON gateway.users (lower(email));

CREATE TABLE gateway.memberships (
    workspace  text        NOT NULL REFERENCES gateway.workspaces (slug),
    user_id    uuid        NOT NULL REFERENCES gateway.users (id),
    role       text        NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'member', 'viewer')),
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace, user_id)
);
CREATE INDEX memberships_user_idx ON gateway.memberships (user_id, created_at);

-- An invitation is a link holding a random token; only the token's SHA-256 is kept. Resending
-- replaces the token (the old link stops working) and restarts the seven days.
CREATE TABLE gateway.invitations (
    id           uuid        PRIMARY KEY,
    workspace    text        NOT NULL REFERENCES gateway.workspaces (slug),
    email        text        NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role         text        NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'member', 'viewer')),
    digest       bytea       NOT NULL UNIQUE,
    created_by   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    accepted_by  uuid        REFERENCES gateway.users (id),
    cancelled_at timestamptz,
    cancelled_by text
);
CREATE INDEX invitations_workspace_idx ON gateway.invitations (workspace, created_at DESC, id DESC);
-- One open invitation per address and workspace: inviting again resends it.
CREATE UNIQUE INDEX invitations_open_idx ON gateway.invitations (workspace, lower(email))
    WHERE accepted_at IS NULL AND cancelled_at IS NULL;

-- A console session. The cookie holds 32 random bytes; only their SHA-256 is kept, so a reader of
-- this table cannot act as anyone. A session is a person's (user_id), an API key's (key_id) or the
-- installation's admin token's (neither): it never holds the credential itself.
CREATE TABLE gateway.sessions (
    digest       bytea       PRIMARY KEY,
    id           uuid        NOT NULL UNIQUE,
    user_id      uuid        REFERENCES gateway.users (id),
    key_id       uuid        REFERENCES gateway.api_keys (id),
    source       text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    ended_at     timestamptz,
    ended_why    text,
    admin_mark   bytea,
    -- An admin token's session keeps a mark of that token (16 bytes of a SHA-256), so rotating
    -- the token ends it; it is no use for signing in.
    CHECK (num_nonnulls(user_id, key_id, admin_mark) = 1)
);
CREATE INDEX sessions_user_idx ON gateway.sessions (user_id) WHERE ended_at IS NULL;

-- Failed sign-ins and bad bearer tokens, per account and per source address: the limits are
-- counted here so they hold across every gateway replica. Rows older than the window are pruned.
CREATE TABLE gateway.signin_failures (
    id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      timestamptz NOT NULL DEFAULT now(),
    account text,
    source  text        NOT NULL
);
CREATE INDEX signin_failures_account_idx ON gateway.signin_failures (lower(account), at) WHERE account IS NOT NULL;
CREATE INDEX signin_failures_source_idx ON gateway.signin_failures (source, at);
