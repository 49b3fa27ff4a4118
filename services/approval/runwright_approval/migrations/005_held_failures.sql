-- A step may be held more than once in an attempt (approved before it ran, then held when it
-- failed, then held again when a retry failed): one request per queue approval id, and a request
-- closed by a retry says so.
ALTER TABLE approval.requests DROP CONSTRAINT requests_job_id_attempt_ordinal_key;
ALTER TABLE approval.requests DROP CONSTRAINT requests_state_check;
ALTER TABLE approval.requests ADD CONSTRAINT requests_state_check CHECK (state IN ('open',
    'approved', 'rejected', 'skipped', 'retried', 'timed_out', 'cancelled', 'superseded'));
