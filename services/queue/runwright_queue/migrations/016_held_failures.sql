-- A job that asked to be held when a step fails waits for a person like an approval does, with
-- kind 'failure': the failed step's error is kept, and the person retries it (as it was, or
-- edited: retry_step), skips it or fails the job. A retried step that fails again is held again,
-- as the next round of the same step.
ALTER TABLE queue.job_approvals
    ADD COLUMN kind       text    NOT NULL DEFAULT 'approval' CHECK (kind IN ('approval', 'failure')),
    ADD COLUMN round      integer NOT NULL DEFAULT 0,
    ADD COLUMN error      jsonb,
    ADD COLUMN retry_step jsonb;
ALTER TABLE queue.job_approvals DROP CONSTRAINT job_approvals_job_id_attempt_ordinal_key;
ALTER TABLE queue.job_approvals ADD CONSTRAINT job_approvals_once
    UNIQUE (job_id, attempt, ordinal, kind, round);
ALTER TABLE queue.job_approvals DROP CONSTRAINT job_approvals_state_check;
ALTER TABLE queue.job_approvals ADD CONSTRAINT job_approvals_state_check CHECK (state IN
    ('requested', 'approved', 'rejected', 'skipped', 'retried', 'timed_out', 'cancelled'));
