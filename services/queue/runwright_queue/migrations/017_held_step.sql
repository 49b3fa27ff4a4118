-- A held failure keeps the step as it ran (placeholders unrendered), so the person fixing it
-- edits what failed.
ALTER TABLE queue.job_approvals ADD COLUMN failed_step jsonb;
