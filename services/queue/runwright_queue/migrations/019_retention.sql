-- Retention (runwright_queue.pruning): finished jobs are found by when they finished, consumed
-- message records by when they were processed, without scanning the tables.
CREATE INDEX jobs_finished_idx ON queue.jobs (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX processed_messages_at_idx ON queue.processed_messages (processed_at);
