-- One trace per job: every outbox row keeps the W3C trace context of the change that wrote it,
-- and the relay publishes the row with it (runwright_db.outbox).
ALTER TABLE artifact.outbox ADD COLUMN headers jsonb
    DEFAULT NULLIF(NULLIF(current_setting('runwright.trace_headers', true), ''), '{}')::jsonb;
