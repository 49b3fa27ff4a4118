-- Batch runs: one child job per data row, grouped by batch_id; the row travels with the job.
ALTER TABLE queue.jobs ADD COLUMN batch_id uuid;
ALTER TABLE queue.jobs ADD COLUMN data jsonb;
CREATE INDEX jobs_batch_idx ON queue.jobs (batch_id, created_at) WHERE batch_id IS NOT NULL;
