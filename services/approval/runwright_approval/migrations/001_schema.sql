-- The schema itself is made by runwright_db.migrate (or by deploy/postgres/roles.sql, which gives
-- it to the service's role).
COMMENT ON SCHEMA approval IS 'Written by the approval service: webhook subscriptions, their deliveries and attempts.';
