-- The queue-full check counts a workspace's waiting jobs; without this it read every waiting job
-- of every workspace.
CREATE INDEX jobs_waiting_workspace_idx ON queue.jobs (workspace)
    WHERE status IN ('queued', 'scheduled');
