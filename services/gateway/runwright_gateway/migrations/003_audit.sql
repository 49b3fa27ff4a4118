-- The audit log: one row for every request that changed (or tried to change) something. It is
-- append-only: rows are never updated or deleted, by anyone, so what it says can be relied on.
CREATE TABLE gateway.audit (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- NULL for a request that never reached a workspace (a sign-in, an unknown token).
    workspace  text,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    target     text,
    outcome    text        NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    status     integer     NOT NULL,
    source     text,
    request_id text,
    -- Field names and harmless values only: never a request body, never a secret.
    detail     jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_workspace_id_idx ON gateway.audit (workspace, id DESC);
CREATE INDEX audit_workspace_at_idx ON gateway.audit (workspace, at DESC, id DESC);

CREATE FUNCTION gateway.audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'gateway.audit is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON gateway.audit
    FOR EACH ROW EXECUTE FUNCTION gateway.audit_is_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON gateway.audit
    FOR EACH STATEMENT EXECUTE FUNCTION gateway.audit_is_append_only();

-- The owner (the gateway's role) keeps INSERT and SELECT only. An owner could grant itself the
-- rest again; the triggers above refuse even then, and even a superuser.
REVOKE UPDATE, DELETE, TRUNCATE ON gateway.audit FROM CURRENT_USER;
