-- Job counts per status for the console's tabs, exact and cheap at any table size.
-- Every insert, status change and delete appends a delta row (no shared row is updated, so
-- concurrent transitions never wait on each other); the queue service folds deltas into
-- job_counts now and then. A reader sums both in one snapshot.
CREATE TABLE queue.job_counts (
    status text   PRIMARY KEY,
    n      bigint NOT NULL
);

CREATE TABLE queue.job_count_deltas (
    id     bigserial PRIMARY KEY,
    status text      NOT NULL,
    delta  integer   NOT NULL
);

CREATE FUNCTION queue.count_job_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO queue.job_count_deltas (status, delta) VALUES (OLD.status, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO queue.job_count_deltas (status, delta) VALUES (NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_count_insert_delete AFTER INSERT OR DELETE ON queue.jobs
    FOR EACH ROW EXECUTE FUNCTION queue.count_job_status();
CREATE TRIGGER jobs_count_status AFTER UPDATE OF status ON queue.jobs
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION queue.count_job_status();

INSERT INTO queue.job_counts (status, n)
    SELECT status, count(*) FROM queue.jobs GROUP BY status;

-- Search and the trigger filter, newest first like the list.
CREATE INDEX jobs_trigger_created_idx ON queue.jobs (trigger, created_at DESC, id DESC);
CREATE INDEX jobs_labels_idx ON queue.jobs USING gin (labels jsonb_path_ops);

-- Title search by substring: a trigram index where pg_trgm can be installed (it ships with
-- PostgreSQL and is a trusted extension); without it the search still works, by scanning.
DO $$
DECLARE
    ext_schema text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm is not available (%); title search will scan', SQLERRM;
    END;
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pg_trgm';
    IF ext_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX jobs_title_trgm_idx ON queue.jobs USING gin (lower(title) %I.gin_trgm_ops)',
            ext_schema);
    END IF;
END
$$;
