-- Reports of an attempt are applied in the order the executor sent them: the last one applied.
ALTER TABLE queue.jobs ADD COLUMN report_seq integer NOT NULL DEFAULT 0;

-- A step's description as written (with its {{…}} placeholders); `description` becomes the text
-- rendered when the step started.
ALTER TABLE queue.job_steps ADD COLUMN description_template text;
UPDATE queue.job_steps SET description_template = description;
