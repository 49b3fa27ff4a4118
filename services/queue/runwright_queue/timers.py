"""Time-driven work of the queue: release scheduled jobs when due, re-dispatch jobs that waited
too long unclaimed (a lost dispatch message must never strand a job), and apply the executor-loss
policy (fail, or requeue from the first step)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from uuid import UUID

import asyncpg
from runwright_common.logging import get_logger
from runwright_proto.jobs import ACTIVE

from runwright_queue import job_metrics
from runwright_queue.counts import fold_counts
from runwright_queue.journal import TransitionRejected, finish, now, step_event, transition
from runwright_queue.submission import dispatch

log = get_logger("runwright.queue.timers")


async def release_due(pool: asyncpg.Pool) -> int:
    """``scheduled`` jobs whose ``run_at`` has come become ``queued``."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT id, priority FROM queue.jobs WHERE status = 'scheduled' AND run_at <= now() "
            "ORDER BY run_at LIMIT 200 FOR UPDATE SKIP LOCKED"
        )
        for row in rows:
            await transition(
                conn,
                row["id"],
                "queued",
                ("scheduled",),
                reason="run time reached",
                actor="scheduler",
                sets={"dispatched_at": now()},
            )
            await dispatch(conn, str(row["id"]), row["priority"])
    return len(rows)


async def redispatch_stale(pool: asyncpg.Pool, after_s: float) -> int:
    """Re-publish the dispatch of jobs queued longer than ``after_s`` without a claim."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "UPDATE queue.jobs SET dispatched_at = now() WHERE id IN (SELECT id FROM queue.jobs "
            "WHERE status = 'queued' AND dispatched_at < now() - make_interval(secs => $1) "
            "LIMIT 200 FOR UPDATE SKIP LOCKED) RETURNING id, priority",
            after_s,
        )
        for row in rows:
            await dispatch(conn, str(row["id"]), row["priority"])
    if rows:
        log.info("re-dispatched jobs nobody claimed", count=len(rows))
    return len(rows)


async def lose_executor(
    conn: asyncpg.Connection, job_id: UUID, *, reason: str, max_requeues: int
) -> str:
    """The job's executor is gone: requeue from the first step if the job asked for it (and has
    requeues left), else fail it. Returns the new status."""
    job = await conn.fetchrow(
        "SELECT options, requeues, priority FROM queue.jobs WHERE id = $1", job_id
    )
    policy = (job["options"] or {}).get("on_executor_loss", "fail")
    if policy == "requeue" and job["requeues"] < max_requeues:
        rows = await conn.fetch(
            "UPDATE queue.job_steps SET status = 'pending', started_at = NULL, "
            "finished_at = NULL, duration_ms = NULL, retries = 0, captured = '{}', error = NULL "
            "WHERE job_id = $1 AND status <> 'pending' RETURNING *",
            job_id,
        )
        for row in sorted(rows, key=lambda r: r["ordinal"]):
            await step_event(conn, job_id, row)
        await transition(
            conn,
            job_id,
            "queued",
            ACTIVE,
            reason=f"{reason}; requeued from the first step",
            actor="system",
            sets={
                "requeues": job["requeues"] + 1,
                "lease_expires_at": None,
                "executor_id": None,
                "dispatched_at": now(),
            },
        )
        await dispatch(conn, str(job_id), job["priority"])
        job_metrics.executor_lost(conn)
        return "queued"
    await finish(conn, job_id, "failed", ACTIVE, reason=reason, actor="system")
    job_metrics.executor_lost(conn)
    return "failed"


async def run_timers(
    pool: asyncpg.Pool, stop: asyncio.Event, kick: Callable[[], None], redispatch_after_s: float
) -> None:
    ticks = 0
    while not stop.is_set():
        try:
            changed = await release_due(pool)
            if ticks % 10 == 0:
                changed += await redispatch_stale(pool, redispatch_after_s)
            await fold_counts(pool)
            if changed:
                kick()
        except (asyncpg.PostgresError, OSError, TransitionRejected) as exc:
            log.warning("timer pass failed", error=str(exc))
        ticks += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
