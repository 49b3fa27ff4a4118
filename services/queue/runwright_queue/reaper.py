"""A job never hangs: a lease that was not renewed in time means its executor is gone."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
from runwright_common.logging import get_logger
from runwright_proto.jobs import ACTIVE

from runwright_queue.artifacts import finish_from, missing_artifacts, pending_finish
from runwright_queue.journal import TransitionRejected
from runwright_queue.timers import lose_executor

log = get_logger("runwright.queue.reaper")
EXECUTOR_LOST = "executor lost"


async def reap_expired(pool: asyncpg.Pool, max_requeues: int = 3) -> int:
    """Fail every active job whose lease expired. Returns how many were reaped."""
    reaped = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id FROM queue.jobs WHERE status = ANY($1) AND lease_expires_at < now() "
            "ORDER BY lease_expires_at LIMIT 100 FOR UPDATE SKIP LOCKED",
            list(ACTIVE),
        )
        for row in rows:
            with contextlib.suppress(TransitionRejected):
                done = await pending_finish(conn, row["id"])
                if done is not None:
                    missing = await missing_artifacts(conn, row["id"], done.artifact_ids)
                    note = f"{len(missing)} artifact(s) not stored in time" if missing else None
                    await finish_from(
                        conn,
                        row["id"],
                        done,
                        reason="; ".join(filter(None, [done.reason, note])) or None,
                    )
                    log.warning(
                        "finished without waiting longer for artifacts",
                        job_id=str(row["id"]),
                        missing=len(missing),
                    )
                else:
                    now = await lose_executor(
                        conn, row["id"], reason=EXECUTOR_LOST, max_requeues=max_requeues
                    )
                    log.warning("executor lost", job_id=str(row["id"]), now=now)
                reaped += 1
    return reaped


async def run_reaper(
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    interval_s: float,
    on_change: object,
    max_requeues: int = 3,
) -> None:
    while not stop.is_set():
        try:
            if await reap_expired(pool, max_requeues) and callable(on_change):
                on_change()
        except (asyncpg.PostgresError, OSError) as exc:
            log.warning("reaper pass failed", error=str(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
