"""Retention: remove expired artifacts, the object and its row together; and the artifacts of
jobs the queue has pruned (``RUNWRIGHT_RETAIN_JOBS_DAYS``) even before their own expiry, so no
file outlives its job.

The object goes first, then the row, under the row's lock; a crash in between leaves a row whose
object is already gone, and the next pass deletes it again (deleting is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
from runwright_common.logging import get_logger
from runwright_db.retention import Retention
from runwright_storage import ArtifactStore

log = get_logger("runwright.artifact.sweeper")


EXPIRED = (
    "SELECT id, storage_key FROM artifact.artifacts WHERE expires_at <= $1 "
    "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
OF_PRUNED_JOBS = (
    "SELECT a.id, a.storage_key FROM artifact.artifacts a WHERE a.created_at < $1 "
    "AND NOT EXISTS (SELECT FROM queue.jobs j WHERE j.id = a.job_id) "
    "ORDER BY a.created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
"""A job is pruned only once it finished before the cutoff, so its files were made before it."""


async def sweep(
    pool: asyncpg.Pool, store: ArtifactStore, now: datetime, batch: int = 100, query: str = EXPIRED
) -> int:
    removed = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(query, now, batch)
            for row in rows:
                await store.delete(row["storage_key"])
                await conn.execute("DELETE FROM artifact.artifacts WHERE id = $1", row["id"])
        removed += len(rows)
        if len(rows) < batch:
            return removed


async def sweep_pruned_jobs(
    store: ArtifactStore, pool: asyncpg.Pool, retention: Retention, now: datetime
) -> dict[str, int]:
    """The files of jobs the queue pruned (a ``runwright_db.retention`` pass)."""
    if cutoff := retention.cutoff(retention.retain_jobs_days, now):
        return {"artifacts_of_pruned_jobs": await sweep(pool, store, cutoff, query=OF_PRUNED_JOBS)}
    return {}


async def run_sweeper(
    pool: asyncpg.Pool,
    store: ArtifactStore,
    stop: asyncio.Event,
    interval_s: float,
    clock: Callable[[], datetime] | None = None,
) -> None:
    clock = clock or (lambda: datetime.now(UTC))
    while not stop.is_set():
        try:
            removed = await sweep(pool, store, clock())
            if removed:
                log.info("expired artifacts removed", count=removed)
        except Exception as exc:
            log.warning("retention sweep failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
