"""The queue's metrics, taken where jobs change: counted once per applied transition, after its
transaction commits (``after_commit``), never for a redelivered or refused one; the gauges are
read from the queue's own tables and the dispatch consumer when ``/metrics`` is scraped."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

import asyncpg
from nats.js import JetStreamContext
from runwright_common import metrics
from runwright_db.after_commit import after_commit
from runwright_proto import streams
from runwright_proto.jobs import TERMINAL

COUNTS = """
SELECT workspace, status, sum(n)::bigint AS n FROM (
    SELECT workspace, status, n FROM queue.job_counts
    UNION ALL SELECT workspace, status, delta FROM queue.job_count_deltas
) AS c GROUP BY workspace, status HAVING sum(n) <> 0
"""
OLDEST_QUEUED = (
    "SELECT extract(epoch FROM now() - min(greatest(created_at, coalesce(run_at, created_at)))) "
    "FROM queue.jobs WHERE status = 'queued'"
)


def submitted(conn: asyncpg.Connection, workspaces: Iterable[str]) -> None:
    """Jobs were recorded (counted when the transaction commits)."""
    if metrics.enabled():
        after_commit(conn, partial(metrics.jobs_submitted, list(workspaces)))


def transitioned(conn: asyncpg.Connection, job: asyncpg.Record) -> None:
    """A versioned transition applied (``job``: the row it returned)."""
    if metrics.enabled() and job["status"] in TERMINAL:
        started, finished = job["started_at"], job["finished_at"]
        seconds = (finished - started).total_seconds() if started and finished else None
        after_commit(conn, partial(metrics.job_finished, job["workspace"], job["status"], seconds))


def executor_lost(conn: asyncpg.Connection) -> None:
    if metrics.enabled():
        after_commit(conn, metrics.executor_lost)


async def refresh(pool: asyncpg.Pool, js: JetStreamContext) -> None:
    """The gauges: jobs by workspace and status (the folded counts), the oldest queued job's
    age, and the dispatch consumer's pending and unacknowledged messages."""
    async with pool.acquire() as conn:
        counts = await conn.fetch(COUNTS)
        oldest = await conn.fetchval(OLDEST_QUEUED)
    metrics.set_by_label(metrics.JOBS, {(r["workspace"], r["status"]): r["n"] for r in counts})
    metrics.OLDEST_QUEUED.set(float(oldest or 0))
    info = await js.consumer_info(streams.EXECUTORS.stream, streams.EXECUTORS.durable)
    metrics.DISPATCH_PENDING.set(info.num_pending or 0)
    metrics.DISPATCH_ACK_PENDING.set(info.num_ack_pending or 0)
