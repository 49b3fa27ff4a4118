-- A webhook belongs to the workspace that created it and hears only that workspace's jobs.
ALTER TABLE approval.webhooks ADD COLUMN workspace text NOT NULL DEFAULT 'default';
CREATE INDEX webhooks_workspace ON approval.webhooks (workspace, created_at DESC, id DESC);
