-- The schema itself is made by runwright_db.migrate (or by deploy/postgres/roles.sql, which gives
-- it to the service's role).
COMMENT ON SCHEMA artifact IS 'Written by the artifact service: stored artifacts and their retention.';
