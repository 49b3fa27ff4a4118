-- "Send test" records a delivery of a test notice (about no job: the nil uuid), sent and retried
-- like any other, so the delivery log shows whether the receiver answered.
ALTER TABLE approval.deliveries DROP CONSTRAINT deliveries_event_check;
ALTER TABLE approval.deliveries ADD CONSTRAINT deliveries_event_check
    CHECK (event IN ('approval.requested', 'job.finished', 'webhook.test'));
