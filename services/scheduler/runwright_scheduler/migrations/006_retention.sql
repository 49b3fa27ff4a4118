-- Retention (runwright_scheduler.pruning): old occurrences are found by age.
CREATE INDEX occurrences_created_idx ON scheduler.occurrences (created_at);
