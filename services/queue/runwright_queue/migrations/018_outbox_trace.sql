-- One trace per job. Every outbox row keeps the W3C trace context (traceparent, tracestate,
-- baggage) of the change that wrote it, and the relay publishes the row with it. Rows that SQL
-- functions write (claim_next) take it from the transaction's runwright.trace_headers setting
-- (set by the trigger below).
ALTER TABLE queue.outbox ADD COLUMN headers jsonb
    DEFAULT NULLIF(NULLIF(current_setting('runwright.trace_headers', true), ''), '{}')::jsonb;

-- The job's own trace context, as it was submitted: its run (whichever executor claims it) and
-- the changes the queue makes later on its own (timers, the reaper) join the job's trace.
ALTER TABLE queue.jobs ADD COLUMN trace jsonb;

-- claim_next writes the claimed job's `running` event into the outbox itself: when a job starts
-- running, the rest of that transaction's outbox rows take the job's own trace context (the
-- executor that claims it may have been woken by another job's dispatch).
CREATE FUNCTION queue.job_trace_for_outbox() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('runwright.trace_headers', NEW.trace::text, true);
    RETURN NEW;
END
$$;

CREATE TRIGGER jobs_running_trace
    AFTER UPDATE OF status ON queue.jobs
    FOR EACH ROW
    WHEN (NEW.status = 'running' AND OLD.status IS DISTINCT FROM 'running' AND NEW.trace IS NOT NULL)
    EXECUTE FUNCTION queue.job_trace_for_outbox();
