-- The view the gateway publishes of its runbook library for the scheduler: each workspace's
-- runbooks that may run now (not archived) with their published version's document. A schedule
-- that follows a runbook reads it at each occurrence (runwright_db.roles.READS grants it).
CREATE VIEW gateway.published_runbooks AS
SELECT r.workspace, r.slug, r.published_version AS version, v.document
  FROM gateway.runbooks r
  JOIN gateway.runbook_versions v ON v.runbook_id = r.id AND v.number = r.published_version
 WHERE r.archived_at IS NULL;
