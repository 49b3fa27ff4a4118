"""Queue policy against the queue service's handlers on a private database: priority, workspace
concurrency, queue length, run_at, executor loss (fail or requeue), hand-back, re-dispatch."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
from runwright_proto.commands import ClaimJob, JobOptions
from runwright_proto.reports import JobReleased, StepStarted
from runwright_queue import claims, reaper, reports, submission, timers
from runwright_queue.sealing import transient
from runwright_stack.stack import Stack
from support.database import private_database
from test_queue_invariants import command

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=20) as db:
        yield db


async def submit(pool: asyncpg.Pool, **changes: object) -> str:
    cmd = msgspec.structs.replace(command(), **changes)
    reply = await submission.submit(pool, cmd, keys=KEYS)
    assert reply.created, reply
    return cmd.job_id


async def claim(pool: asyncpg.Pool, concurrency: int = 50, lease_ms: int = 30000) -> str | None:
    reply = await claims.claim(
        pool, ClaimJob(job_id="nudge", executor_id="ex", lease_ms=lease_ms), concurrency, keys=KEYS
    )
    return reply.job_id if reply.granted else reply.reason


async def test_higher_priority_runs_first_and_fifo_within_a_priority(pool: asyncpg.Pool) -> None:
    low = await submit(pool, priority=0)
    first_high = await submit(pool, priority=5)
    second_high = await submit(pool, priority=5)
    assert [await claim(pool) for _ in range(3)] == [first_high, second_high, low]
    assert await claim(pool) == "nothing queued"


async def test_a_workspace_runs_at_most_its_concurrency_limit(pool: asyncpg.Pool) -> None:
    jobs = [await submit(pool) for _ in range(3)]
    other = await submit(pool, workspace="other")
    assert await claim(pool, 2) == jobs[0]
    assert await claim(pool, 2) == jobs[1]
    assert await claim(pool, 2) == other, "another workspace is not held up"
    assert await claim(pool, 2) == "the workspace is at its concurrency limit"
    await pool.execute(
        "UPDATE queue.jobs SET status = 'completed' WHERE id = $1", uuid.UUID(jobs[0])
    )
    assert await claim(pool, 2) == jobs[2]


class OneConnection:
    """A pool of one connection whose every statement the test sees."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        yield self.conn


async def test_racing_claims_never_run_a_workspace_past_its_limit(pool: asyncpg.Pool) -> None:
    jobs = {await submit(pool) for _ in range(10)}
    results = await asyncio.gather(*(claim(pool, 3) for _ in range(10)))
    granted = [r for r in results if r in jobs]
    assert len(granted) == len(set(granted)) == 3, results
    assert set(results) - jobs == {"the workspace is at its concurrency limit"}


async def test_a_claim_is_one_round_trip_and_records_its_event_and_dispatch(
    pool: asyncpg.Pool,
) -> None:
    job = await submit(pool)
    queries: list[str] = []
    async with pool.acquire() as conn:
        conn.add_query_logger(lambda record: queries.append(record.query))
        reply = await claims.claim(
            OneConnection(conn),  # type: ignore[arg-type]
            ClaimJob(job_id="nudge", executor_id="ex-1", lease_ms=30000),
            keys=KEYS,
        )
        await asyncio.sleep(0.05)  # query loggers are called soon after, not inline
        sent = list(queries)  # (not the pool's reset when the connection goes back)
    assert reply.granted
    assert (reply.job_id, reply.attempt) == (job, 1)
    assert len(sent) == 1, sent
    assert "claim_next" in sent[0]
    row = await pool.fetchrow(
        "SELECT status, attempt, executor_id, event_seq FROM queue.jobs WHERE id = $1",
        uuid.UUID(job),
    )
    assert (row["status"], row["attempt"], row["executor_id"]) == ("running", 1, "ex-1")
    body = await pool.fetchval(
        "SELECT body FROM queue.job_events WHERE job_id = $1 AND seq = $2",
        uuid.UUID(job),
        row["event_seq"],
    )
    event = msgspec.json.decode(body)
    assert (event["job_id"], event["seq"], event["status"]) == (job, row["event_seq"], "running")
    assert (event["previous"], event["actor"]) == ("queued", "executor:ex-1")
    published = await pool.fetchval(
        "SELECT payload FROM queue.outbox WHERE subject = $1 ORDER BY id DESC LIMIT 1",
        f"runwright.events.default.{job}",
    )
    assert published.decode() == body, "the outbox publishes exactly what was recorded"
    steps = await pool.fetch(
        "SELECT attempt FROM queue.job_steps WHERE job_id = $1", uuid.UUID(job)
    )
    assert [s["attempt"] for s in steps] == [1] * len(steps) != []


async def test_a_full_queue_refuses_new_jobs_with_a_retry_hint(pool: asyncpg.Pool) -> None:
    for _ in range(2):
        assert (await submission.submit(pool, command(), max_queued=2, keys=KEYS)).created
    refused = await submission.submit(pool, command(), max_queued=2, keys=KEYS)
    assert (refused.status, refused.created, refused.retry_after_s) == ("rejected", False, 5)
    assert await pool.fetchval("SELECT count(*) FROM queue.jobs") == 2


async def test_a_job_with_run_at_stays_scheduled_until_due(pool: asyncpg.Pool) -> None:
    job = await submit(pool, run_at=datetime.now(UTC) + timedelta(hours=1))
    status = await pool.fetchval("SELECT status FROM queue.jobs WHERE id = $1", uuid.UUID(job))
    assert status == "scheduled"
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM queue.outbox WHERE subject = 'runwright.dispatch.jobs'"
        )
        == 0
    )
    assert await claim(pool) == "nothing queued"
    assert await timers.release_due(pool) == 0
    await pool.execute("UPDATE queue.jobs SET run_at = now() - interval '1 second'")
    assert await timers.release_due(pool) == 1
    assert await claim(pool) == job


async def test_executor_loss_requeues_from_the_first_step_when_asked(pool: asyncpg.Pool) -> None:
    job = await submit(pool, options=JobOptions(on_executor_loss="requeue"))
    assert await claim(pool, lease_ms=1) == job
    now = datetime.now(UTC)
    assert await reports.apply_report(
        pool, StepStarted(job_id=job, attempt=1, at=now, ordinal=0), keys=KEYS
    )
    await asyncio.sleep(0.05)
    assert await reaper.reap_expired(pool) == 1
    row = await pool.fetchrow("SELECT status, requeues, reason FROM queue.jobs")
    assert (row["status"], row["requeues"]) == ("queued", 1)
    assert "requeued from the first step" in row["reason"]
    steps = await pool.fetch("SELECT status FROM queue.job_steps ORDER BY ordinal")
    assert [s["status"] for s in steps] == ["pending", "pending"]
    assert await claim(pool) == job
    assert await pool.fetchval("SELECT attempt FROM queue.jobs") == 2
    late = StepStarted(job_id=job, attempt=1, at=now, ordinal=1)
    assert await reports.apply_report(pool, late, keys=KEYS) is False, (
        "the lost attempt is fenced off"
    )


async def test_executor_loss_fails_the_job_by_default(pool: asyncpg.Pool) -> None:
    job = await submit(pool)
    assert await claim(pool, lease_ms=1) == job
    await asyncio.sleep(0.05)
    await reaper.reap_expired(pool)
    row = await pool.fetchrow("SELECT status, reason FROM queue.jobs")
    assert (row["status"], row["reason"]) == ("failed", "executor lost")


async def test_a_stopping_executor_hands_its_job_back(pool: asyncpg.Pool) -> None:
    job = await submit(pool)
    assert await claim(pool) == job
    at = datetime.now(UTC)
    stale = JobReleased(job_id=job, attempt=2, at=at, seq=1, executor_id="ex")
    assert await reports.apply_report(pool, stale, keys=KEYS) is False
    released = JobReleased(job_id=job, attempt=1, at=at, seq=1, executor_id="ex")
    assert await reports.apply_report(pool, released, keys=KEYS) is True
    row = await pool.fetchrow("SELECT status, reason FROM queue.jobs")
    assert (row["status"], row["reason"]) == ("failed", "executor stopped")


async def test_a_job_nobody_claimed_is_dispatched_again(pool: asyncpg.Pool) -> None:
    await submit(pool)
    await pool.execute("DELETE FROM queue.outbox")
    assert await timers.redispatch_stale(pool, after_s=30) == 0
    await pool.execute("UPDATE queue.jobs SET dispatched_at = now() - interval '1 minute'")
    assert await timers.redispatch_stale(pool, after_s=30) == 1
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM queue.outbox WHERE subject = 'runwright.dispatch.jobs'"
        )
        == 1
    )
