"""Pruning the approval service's tables by age (``runwright_db.retention``).

Approval requests (and their decisions) go with the jobs' retention, once closed and only when
their job is finished or already pruned by the queue: an approval of a job that may still run is
never touched. Webhook deliveries that ended (delivered or given up) go with the deliveries'
retention, their attempts with them.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg
from runwright_db.retention import Retention, by_age, delete_in_batches

JOB_NOT_ACTIVE = (
    "NOT EXISTS (SELECT FROM queue.jobs j WHERE j.id = {alias}.job_id "
    "AND j.status NOT IN ('completed', 'failed', 'cancelled'))"
)


async def prune(pool: asyncpg.Pool, retention: Retention, now: datetime) -> dict[str, int]:
    removed: dict[str, int] = {}
    if jobs := retention.cutoff(retention.retain_jobs_days, now):
        removed["approval_requests"] = await delete_in_batches(
            pool,
            by_age(
                "approval.requests",
                "requested_at",
                "state <> 'open' AND " + JOB_NOT_ACTIVE.format(alias="approval.requests"),
            ),
            jobs,
        )
        removed["approval_decisions"] = await delete_in_batches(
            pool,
            by_age(
                "approval.decisions",
                "decided_at",
                "approval_id IS NULL AND " + JOB_NOT_ACTIVE.format(alias="approval.decisions"),
            ),
            jobs,
        )
    if deliveries := retention.cutoff(retention.retain_deliveries_days, now):
        removed["webhook_deliveries"] = await delete_in_batches(
            pool,
            by_age("approval.deliveries", "created_at", "status IN ('delivered', 'gave_up')"),
            deliveries,
        )
    return removed
