-- A lease renewal is the queue's most frequent write: every running job's row, every 1.5 s, most
-- of them in one statement per executor (runwright_queue.leases). With lease_expires_at indexed,
-- each was a non-HOT update: a new row version plus an entry in every index of queue.jobs (about
-- 2 kB of WAL per lease, measured). Unindexed, and with room on the page for the new versions of
-- all the running rows a statement renews at once, it is a HOT update (under 300 B of WAL, about
-- a third of the database's time). The reaper finds the active jobs through the status indexes
-- and reads their leases there (a few milliseconds a pass at 5,000 running jobs).
DROP INDEX IF EXISTS queue.jobs_lease_idx;
-- Half of each new page is left free: a page of running jobs renewed in one statement needs room
-- for a new version of each (old versions are pruned once the statement has committed). Pages
-- written before this keep their fill until rewritten.
ALTER TABLE queue.jobs SET (fillfactor = 50);
