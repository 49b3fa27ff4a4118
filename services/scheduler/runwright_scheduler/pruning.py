"""Pruning the scheduler's occurrence history by age (``runwright_db.retention``): an occurrence
is kept as long as the jobs it started are (``RUNWRIGHT_RETAIN_JOBS_DAYS``). Schedules themselves
are never pruned."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from runwright_db.retention import Retention, by_age, delete_in_batches


async def prune(pool: asyncpg.Pool, retention: Retention, now: datetime) -> dict[str, int]:
    if jobs := retention.cutoff(retention.retain_jobs_days, now):
        return {
            "schedule_occurrences": await delete_in_batches(
                pool, by_age("scheduler.occurrences", "created_at"), jobs
            )
        }
    return {}
