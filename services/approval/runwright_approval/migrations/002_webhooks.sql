-- Outbound webhooks: subscriptions, one delivery per (webhook, job event), and every attempt.

CREATE TABLE approval.webhooks (
    id         uuid        PRIMARY KEY,
    url        text        NOT NULL CHECK (url ~ '^https?://'),
    -- The HMAC key; needed in clear to sign, returned only in the reply that created it.
    secret     text        NOT NULL,
    events     text[]      NOT NULL CHECK (cardinality(events) > 0
                               AND events <@ ARRAY['approval.requested', 'job.finished']),
    format     text        NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack')),
    active     boolean     NOT NULL DEFAULT true,
    created_by text        NOT NULL DEFAULT 'admin',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhooks_by_created ON approval.webhooks (created_at DESC, id DESC);

-- event_key is '<job_id>:<seq>': a redelivered job event finds its delivery already recorded.
-- status: pending (never tried), failed (last try failed, another is due at next_attempt_at),
-- delivered, gave_up. A claimed delivery has next_attempt_at pushed past its send timeout, so a
-- worker that dies mid-send leaves it due again.
CREATE TABLE approval.deliveries (
    id              uuid        PRIMARY KEY,
    webhook_id      uuid        NOT NULL REFERENCES approval.webhooks (id) ON DELETE CASCADE,
    event_key       text        NOT NULL,
    event           text        NOT NULL CHECK (event IN ('approval.requested', 'job.finished')),
    job_id          uuid        NOT NULL,
    body            text        NOT NULL,
    attempt         integer     NOT NULL DEFAULT 0,
    status          text        NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'delivered', 'failed', 'gave_up')),
    response_code   integer,
    error           text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (webhook_id, event_key)
);

CREATE INDEX deliveries_due ON approval.deliveries (next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX deliveries_by_webhook ON approval.deliveries (webhook_id, created_at DESC);

CREATE TABLE approval.delivery_attempts (
    delivery_id   uuid        NOT NULL REFERENCES approval.deliveries (id) ON DELETE CASCADE,
    attempt       integer     NOT NULL,
    at            timestamptz NOT NULL DEFAULT now(),
    response_code integer,
    error         text,
    duration_ms   integer     NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
