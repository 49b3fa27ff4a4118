"""A job never hangs: a lease that was not renewed in time means its executor is gone.

Expiry is judged by the database's clock (``lease_expires_at < now()``; renewals set it from the
same clock), never an executor's. A pass that comes late because the queue itself was stalled
reaps nothing (never two passes in a row): renewals that waited for the queue meanwhile are
applied first. A pass that finds no reaper passed for a while (PostgreSQL or NATS was down, or
every queue replica was) reaps nothing either: nobody could have renewed a lease meanwhile, so
every active lease gets a grace period to be renewed in first (see docs/failure-detection.md)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
from runwright_common.logging import get_logger
from runwright_proto.jobs import ACTIVE

from runwright_queue.artifacts import finish_from, missing_artifacts, pending_finish
from runwright_queue.journal import TransitionRejected
from runwright_queue.timers import lose_executor

log = get_logger("runwright.queue.reaper")
EXECUTOR_LOST = "executor lost"
STALL_S = 1.0
"""A pass starting this much later than it meant to means the queue was stalled."""
MIN_GAP_S = 0.1
"""Passes come at most this often, however close the next expiry."""
NEXT_EXPIRY = (
    "SELECT extract(epoch FROM min(lease_expires_at) - clock_timestamp()) FROM queue.jobs "
    "WHERE status IN ('running', 'paused', 'waiting_for_approval')"
)
"""Seconds until the next active lease runs out, by the database's clock (read from the active
jobs, found by the partial index ``jobs_active_workspace_idx``; leases are not indexed, so that a
renewal is a HOT update: ``migrations/022_hot_lease_renewals.sql``)."""
WATCH = (
    "WITH before AS (SELECT passed_at FROM queue.reaper_watch FOR UPDATE) "
    "UPDATE queue.reaper_watch SET passed_at = now() FROM before "
    "RETURNING extract(epoch FROM now() - before.passed_at)"
)
"""Seconds since any reaper last passed, by the database's clock, stamping this pass. The row
lock orders the replicas' passes, so one outage grants one grace period."""
PASSED = "UPDATE queue.reaper_watch SET passed_at = clock_timestamp()"
"""Stamped again as the pass ends: a pass is counted as passing until it ends, so a slow one
(thousands of leases to extend, a loaded machine) is not taken for an outage by the next. Found at
7,000 running jobs on a loaded machine: with the stamp of the pass's start, each grace took long
enough that the next pass granted one again, every pass, and none reaped."""
GRACE = (
    "UPDATE queue.jobs SET lease_expires_at = now() + make_interval(secs => $2) "
    "WHERE id IN (SELECT id FROM queue.jobs WHERE status = ANY($1) "
    "AND lease_expires_at < now() + make_interval(secs => $2) ORDER BY id FOR UPDATE)"
)
"""Rows locked in id order, as a batched lease renewal locks them (``runwright_queue.leases``):
in any other order the two deadlock."""


@dataclass(frozen=True)
class Watch:
    """When to suspect the system rather than the executors."""

    unwatched_s: float
    """No reaper passed for longer than this: nobody could renew a lease meanwhile."""
    grace_s: float
    """Then every active lease runs at least this long from now (``RUNWRIGHT_OUTAGE_GRACE_S``),
    or less after a shorter silence (`grace_for`)."""

    def grace_for(self, unwatched_s: float) -> float:
        """As long as the silence and the threshold together, at most ``grace_s``: a queue
        stalled for two seconds on a saturated machine delays the detection of a dead executor
        by about that much, not by the whole grace; executors back from a long outage (NATS
        clients reconnect within a few seconds) get all of it."""
        return min(self.grace_s, unwatched_s + self.unwatched_s)

    @classmethod
    def for_interval(cls, interval_s: float, grace_s: float) -> Watch:
        """Passes come at most ``interval_s`` apart from each replica; one stall more is an
        outage."""
        return cls(unwatched_s=interval_s + STALL_S, grace_s=grace_s)


async def reap_expired(
    pool: asyncpg.Pool, max_requeues: int = 3, *, watch: Watch | None = None
) -> int:
    """Fail every active job whose lease expired. Returns how many were reaped.

    With a ``watch``: when no reaper passed for longer than it allows, extend every active lease
    by its grace period instead, and reap nothing this pass."""
    reaped = 0
    async with pool.acquire() as conn, conn.transaction():
        if watch is not None:
            unwatched = await conn.fetchval(WATCH)
            if unwatched is not None and float(unwatched) > watch.unwatched_s:
                grace_s = watch.grace_for(float(unwatched))
                extended = await conn.execute(GRACE, list(ACTIVE), grace_s)
                log.warning(
                    "no reaper passed for a while: active leases get a grace period first",
                    unwatched_s=round(float(unwatched), 2),
                    grace_s=round(grace_s, 2),
                    leases=int(extended.split()[-1]),
                )
                await conn.execute(PASSED)
                return 0
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
        if watch is not None:
            await conn.execute(PASSED)
    return reaped


def _clock() -> float:
    """Seconds, counting while the machine is suspended (as the database's clock does)."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


async def next_expiry_s(pool: asyncpg.Pool) -> float | None:
    """Seconds until the next active lease runs out (None: no active lease)."""
    value = await pool.fetchval(NEXT_EXPIRY)
    return None if value is None else float(value)


async def run_reaper(
    pool: asyncpg.Pool,
    stop: asyncio.Event,
    interval_s: float,
    on_change: object,
    max_requeues: int = 3,
    *,
    grace_s: float = 10.0,
    connected: Callable[[], bool] = lambda: True,
) -> None:
    """A pass every ``interval_s``, or sooner when a lease runs out sooner: a lease is reaped
    within ``MIN_GAP_S`` of its end while the queue keeps up, never later than ``interval_s``.

    No pass while ``connected()`` says the queue is cut off from NATS: renewals cannot reach it,
    so silence says nothing about the executors (the watch grants a grace period after)."""
    watch = Watch.for_interval(interval_s, grace_s)
    late_s, skipped = 0.0, False
    while not stop.is_set():
        wait_s = interval_s
        if not connected():
            pass  # renewals cannot arrive; the first pass after reconnecting grants a grace
        elif late_s > STALL_S and not skipped:  # never two in a row: a slow queue still reaps
            log.warning("reaper pass late; renewals go first", late_s=round(late_s, 2))
            skipped = True
        else:
            skipped = False
            try:
                if await reap_expired(pool, max_requeues, watch=watch) and callable(on_change):
                    on_change()
                upcoming = await next_expiry_s(pool)
                if upcoming is not None:
                    wait_s = min(interval_s, max(MIN_GAP_S, upcoming + 0.005))
            except (asyncpg.PostgresError, OSError) as exc:
                log.warning("reaper pass failed", error=str(exc))
        waited_from = _clock()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), wait_s)
        late_s = _clock() - waited_from - wait_s
