-- Submissions per workspace and per caller in one-minute windows: the rate limits are counted
-- here so they hold across every gateway replica. Windows older than ten minutes are pruned.
CREATE TABLE gateway.submission_counts (
    scope        text        NOT NULL,
    window_start timestamptz NOT NULL,
    n            integer     NOT NULL,
    PRIMARY KEY (scope, window_start)
);
