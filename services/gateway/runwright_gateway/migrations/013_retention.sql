-- Retention (runwright_gateway.pruning). The audit log stays append-only for everyone: the one
-- way a row leaves is gateway.prune_audit, which removes rows older than the retention it is
-- given, and never one younger than 30 days, whoever asks. Sessions that ended or expired are
-- found by when they stopped counting.
CREATE OR REPLACE FUNCTION gateway.audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('runwright.pruning_audit', true) = 'on'
       AND OLD.at < now() - interval '30 days' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'gateway.audit is append-only: % is refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

GRANT DELETE ON gateway.audit TO CURRENT_USER;

CREATE FUNCTION gateway.prune_audit(before timestamptz, batch integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    removed bigint;
BEGIN
    PERFORM set_config('runwright.pruning_audit', 'on', true);
    WITH gone AS (
        DELETE FROM gateway.audit WHERE ctid IN (
            SELECT ctid FROM gateway.audit WHERE at < before ORDER BY at LIMIT batch)
        RETURNING 1)
    SELECT count(*) INTO removed FROM gone;
    PERFORM set_config('runwright.pruning_audit', 'off', true);
    RETURN removed;
END $$;

CREATE INDEX audit_at_idx ON gateway.audit (at);
CREATE INDEX sessions_over_idx ON gateway.sessions (least(expires_at, ended_at));
