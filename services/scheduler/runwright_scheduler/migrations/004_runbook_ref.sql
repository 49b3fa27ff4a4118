-- A schedule of a stored runbook: ``<slug>`` follows the published version (read from the
-- gateway's published_runbooks view at each occurrence), ``<slug>@<n>`` is pinned to version n
-- (its document is in ``runbook`` as for any schedule). NULL: the runbook is the schedule's own.
ALTER TABLE scheduler.schedules ADD COLUMN runbook_ref text;
