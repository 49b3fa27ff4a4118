-- Counts and the job list per workspace: every caller sees its own workspace's tabs and pages.
-- No status changes while the totals are recounted (writers wait a moment; readers do not).
LOCK TABLE queue.jobs IN SHARE ROW EXCLUSIVE MODE;

DELETE FROM queue.job_count_deltas;
ALTER TABLE queue.job_count_deltas ADD COLUMN workspace text NOT NULL;

DROP TABLE queue.job_counts;
CREATE TABLE queue.job_counts (
    workspace text   NOT NULL,
    status    text   NOT NULL,
    n         bigint NOT NULL,
    PRIMARY KEY (workspace, status)
);
INSERT INTO queue.job_counts (workspace, status, n)
    SELECT workspace, status, count(*) FROM queue.jobs GROUP BY workspace, status;

CREATE OR REPLACE FUNCTION queue.count_job_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO queue.job_count_deltas (workspace, status, delta) VALUES (OLD.workspace, OLD.status, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO queue.job_count_deltas (workspace, status, delta) VALUES (NEW.workspace, NEW.status, 1);
    END IF;
    RETURN NULL;
END
$$;

-- A reader sums one workspace's deltas.
CREATE INDEX job_count_deltas_workspace_idx ON queue.job_count_deltas (workspace);
-- The list, newest first, within a workspace.
CREATE INDEX jobs_workspace_created_idx ON queue.jobs (workspace, created_at DESC, id DESC);
