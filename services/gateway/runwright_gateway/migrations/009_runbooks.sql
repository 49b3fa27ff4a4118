-- Stored runbooks: a named procedure of a workspace (its slug, unique there) with immutable,
-- numbered versions. A version is a draft until published; the runbook's published_version is
-- the one ``runbook_ref: "<slug>"`` runs (publishing an older one is a rollback). Archiving hides
-- a runbook from new runs; its versions and the jobs that ran them stay.
CREATE TABLE gateway.runbooks (
    id                uuid        PRIMARY KEY,
    workspace         text        NOT NULL REFERENCES gateway.workspaces (slug),
    slug              text        NOT NULL CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    title             text        NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    created_by        text        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    latest_version    integer     NOT NULL DEFAULT 0,
    published_version integer,
    published_by      text,
    published_at      timestamptz,
    archived_at       timestamptz,
    archived_by       text,
    UNIQUE (workspace, slug)
);
CREATE INDEX runbooks_workspace_idx ON gateway.runbooks (workspace, slug);

CREATE TABLE gateway.runbook_versions (
    runbook_id   uuid        NOT NULL REFERENCES gateway.runbooks (id),
    number       integer     NOT NULL CHECK (number >= 1),
    source       text        NOT NULL,
    document     jsonb       NOT NULL,
    content_hash text        NOT NULL,
    author       text        NOT NULL,
    message      text        NOT NULL DEFAULT '' CHECK (length(message) <= 500),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (runbook_id, number)
);

-- A version, once written, is what it is: its content, author and number never change.
CREATE FUNCTION gateway.runbook_version_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gateway.runbook_versions are immutable: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER runbook_versions_immutable BEFORE UPDATE OR DELETE ON gateway.runbook_versions
    FOR EACH ROW EXECUTE FUNCTION gateway.runbook_version_is_immutable();
