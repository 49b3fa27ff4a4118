-- The jobs list filtered by status within a workspace, newest first with keyset paging, reads
-- exactly one page of index entries (docs/retention.md has the measurements: without it a rare
-- status in a large workspace scanned thousands of rows per page).
CREATE INDEX jobs_workspace_status_created_idx
    ON queue.jobs (workspace, status, created_at DESC, id DESC);
-- Retention (runwright_queue.pruning): finished jobs are found by when they finished, consumed
-- message records by when they were processed, without scanning the tables.
CREATE INDEX jobs_finished_idx ON queue.jobs (finished_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
CREATE INDEX processed_messages_at_idx ON queue.processed_messages (processed_at);
