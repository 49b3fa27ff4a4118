-- When a reaper pass last ran, by the database's clock (runwright_queue.reaper). A pass that finds
-- the previous one longer ago than a few reaper intervals knows that, meanwhile, no queue replica
-- could grant a renewal (PostgreSQL or NATS was down, or every replica was): it gives every active
-- lease a grace period instead of reaping what nobody could have renewed.
CREATE TABLE queue.reaper_watch (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    passed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO queue.reaper_watch DEFAULT VALUES;
