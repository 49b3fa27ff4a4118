-- Recurring schedules and every occurrence the scheduler handled. The scheduler service is the
-- only writer; the gateway reads these tables.
CREATE TABLE scheduler.schedules (
    id            uuid        PRIMARY KEY,
    name          text        NOT NULL,
    cron          text        NOT NULL,
    timezone      text        NOT NULL,
    -- The job each occurrence submits, as the gateway built and validated it.
    title         text        NOT NULL,
    runbook       jsonb       NOT NULL,
    steps         jsonb       NOT NULL,
    variables     jsonb       NOT NULL DEFAULT '{}',
    options       jsonb       NOT NULL DEFAULT '{}',
    priority      integer     NOT NULL DEFAULT 0,
    labels        jsonb       NOT NULL DEFAULT '{}',
    -- What the request itself said about priority, labels and options (the runbook fills in).
    requested     jsonb       NOT NULL DEFAULT '{}',
    overlap       text        NOT NULL DEFAULT 'skip'
                              CHECK (overlap IN ('skip', 'allow', 'cancel_previous')),
    paused        boolean     NOT NULL DEFAULT false,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- The next occurrence not handled yet; NULL while paused.
    next_fire_at  timestamptz,
    last_fired_at timestamptz,
    last_job_id   uuid,
    CHECK (paused OR next_fire_at IS NOT NULL)
);

-- The firing pass looks for due schedules only; the API lists newest first.
CREATE INDEX schedules_due_idx ON scheduler.schedules (next_fire_at) WHERE NOT paused;
CREATE INDEX schedules_created_idx ON scheduler.schedules (created_at DESC, id DESC);

-- One row per occurrence: the primary key is the claim, so no occurrence fires twice, whatever
-- the number of scheduler replicas.
CREATE TABLE scheduler.occurrences (
    schedule_id uuid        NOT NULL REFERENCES scheduler.schedules (id) ON DELETE CASCADE,
    fire_at     timestamptz NOT NULL,
    job_id      uuid,
    outcome     text        NOT NULL
                            CHECK (outcome IN ('fired', 'skipped_overlap', 'skipped_missed',
                                               'failed')),
    detail      text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, fire_at)
);
