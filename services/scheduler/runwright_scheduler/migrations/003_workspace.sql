-- A schedule belongs to the workspace that created it, and so do the jobs it submits.
ALTER TABLE scheduler.schedules ADD COLUMN workspace text NOT NULL DEFAULT 'default';
CREATE INDEX schedules_workspace ON scheduler.schedules (workspace, created_at DESC, id DESC);
