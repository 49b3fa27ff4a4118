-- Retention (runwright_artifact.sweeper): the files of pruned jobs are looked for among the
-- oldest artifacts first.
CREATE INDEX artifacts_created_idx ON artifact.artifacts (created_at);
