"""Pruning the queue's tables by age (``runwright_db.retention``): finished jobs and everything
that hangs off them, the event log of finished jobs, and the record of consumed messages.

Only a job in a terminal status (completed, failed, cancelled) that finished before the cutoff is
ever removed; its steps, events, report, secrets, artifact references, pending finish and
approvals go with it (foreign keys ``ON DELETE CASCADE``), its actions in the same statement. The
job's files are the artifact service's to remove (it removes those of pruned jobs itself).
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from runwright_db.retention import Retention, by_age, delete_in_batches

FINISHED = "status IN ('completed', 'failed', 'cancelled')"

JOBS_BATCH = 500
"""Jobs per delete: each takes its steps and events with it, so fewer than other rows."""

DELETE_JOBS = f"""
WITH gone AS (
    DELETE FROM queue.jobs WHERE ctid IN (
        SELECT ctid FROM queue.jobs WHERE {FINISHED} AND finished_at < $1
        LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id
), actions AS (
    DELETE FROM queue.job_actions a USING gone WHERE a.job_id = gone.id
)
SELECT count(*) FROM gone
"""

DELETE_EVENTS = f"""
WITH gone AS (
    DELETE FROM queue.job_events WHERE ctid IN (
        SELECT e.ctid FROM queue.jobs j JOIN queue.job_events e ON e.job_id = j.id
        WHERE j.{FINISHED} AND j.finished_at < $1 LIMIT $2)
    RETURNING 1
)
SELECT count(*) FROM gone
"""


async def prune(pool: asyncpg.Pool, retention: Retention, now: datetime) -> dict[str, int]:
    """One pass; returns how many rows of each kind went."""
    removed: dict[str, int] = {}
    if jobs := retention.cutoff(retention.retain_jobs_days, now):
        removed["jobs"] = await delete_in_batches(pool, DELETE_JOBS, jobs, batch=JOBS_BATCH)
    events = retention.cutoff(retention.retain_events_days, now)
    if events and (jobs is None or events > jobs):
        removed["job_events"] = await delete_in_batches(pool, DELETE_EVENTS, events)
    if processed := retention.cutoff(retention.retain_processed_days, now):
        removed["processed_messages"] = await delete_in_batches(
            pool, by_age("queue.processed_messages", "processed_at"), processed
        )
    return removed
