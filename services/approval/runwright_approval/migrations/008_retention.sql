-- Retention (runwright_approval.pruning): closed approval requests, decisions without a request
-- and ended webhook deliveries are found by age without scanning the tables.
CREATE INDEX requests_closed_idx ON approval.requests (requested_at) WHERE state <> 'open';
CREATE INDEX decisions_unattached_idx ON approval.decisions (decided_at)
    WHERE approval_id IS NULL;
CREATE INDEX deliveries_ended_idx ON approval.deliveries (created_at)
    WHERE status IN ('delivered', 'gave_up');
