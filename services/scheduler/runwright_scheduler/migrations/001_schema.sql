-- The schema itself is made by runwright_db.migrate (or by deploy/postgres/roles.sql, which gives
-- it to the service's role).
COMMENT ON SCHEMA scheduler IS 'Written by the scheduler: schedules and their occurrences.';
