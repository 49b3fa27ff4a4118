-- Scheduled runs (run_at), re-dispatch bookkeeping and the requeue count on executor loss.
ALTER TABLE queue.jobs ADD COLUMN run_at timestamptz;
ALTER TABLE queue.jobs ADD COLUMN dispatched_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE queue.jobs ADD COLUMN requeues integer NOT NULL DEFAULT 0;
-- The next job to claim: highest priority first, oldest first within a priority.
CREATE INDEX jobs_claim_idx ON queue.jobs (priority DESC, created_at, id) WHERE status = 'queued';
CREATE INDEX jobs_due_idx ON queue.jobs (run_at) WHERE status = 'scheduled';
CREATE INDEX jobs_active_workspace_idx ON queue.jobs (workspace)
    WHERE status IN ('running', 'paused', 'waiting_for_approval');
