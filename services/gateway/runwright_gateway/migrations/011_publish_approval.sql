-- A workspace may ask that only an Admin (or an Owner) publishes a runbook version: Developers
-- still write drafts; what runs is then an Admin's call.
ALTER TABLE gateway.workspaces ADD COLUMN publish_approval boolean NOT NULL DEFAULT false;
