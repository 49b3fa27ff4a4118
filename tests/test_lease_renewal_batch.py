"""Renewing an executor's leases together: one statement extends exactly the leases of the
attempts the executor still holds, and names every other job lost, with why.

Drives the queue service's handler against a private database on the real PostgreSQL (as
tests/test_queue_invariants.py does)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from runwright_common.errors import PermanentError
from runwright_proto.commands import (
    RENEW_BATCH,
    ClaimJob,
    JobLease,
    RenewLeases,
    StepSpec,
    SubmitJob,
)
from runwright_proto.reports import JobFinished
from runwright_queue import claims, leases, reaper, reports, submission
from runwright_queue.sealing import transient
from runwright_runbook import parse_runbook
from runwright_stack.stack import Stack
from support.database import private_database
from support.runbooks import runbook

KEYS = transient()

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=10) as db:
        yield db


def command() -> SubmitJob:
    parsed = parse_runbook(
        runbook([{"action": {"type": "wait", "duration": 1}}], start_url="about:blank")
    )
    return SubmitJob(
        job_id=str(uuid.uuid4()),
        title="t",
        runbook=parsed,
        steps=[StepSpec(ordinal=0, description="d", action_type="wait")],
    )


async def running(pool: asyncpg.Pool, executor_id: str) -> str:
    """A job submitted and claimed by ``executor_id`` (attempt 1, a 1 s lease)."""
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    reply = await claims.claim(
        pool,
        ClaimJob(job_id=cmd.job_id, executor_id=executor_id, lease_ms=1000),
        workspace_concurrency=1000,
        keys=KEYS,
    )
    assert reply.granted
    assert reply.job_id == cmd.job_id
    return cmd.job_id


async def lease_left_s(pool: asyncpg.Pool, job_id: str) -> float:
    left = await pool.fetchval(
        "SELECT extract(epoch FROM lease_expires_at - now()) FROM queue.jobs WHERE id = $1",
        uuid.UUID(job_id),
    )
    return float(left)


async def test_one_statement_renews_only_the_attempts_the_executor_holds_and_names_the_rest_lost(
    pool: asyncpg.Pool,
) -> None:
    held, older, elsewhere, finished = [await running(pool, "ex") for _ in range(4)]
    await pool.execute(  # another executor's claim took this one over
        "UPDATE queue.jobs SET executor_id = 'other' WHERE id = $1", uuid.UUID(elsewhere)
    )
    done = JobFinished(job_id=finished, attempt=1, at=datetime.now(UTC), status="completed")
    assert await reports.apply_report(pool, done, keys=KEYS)
    unknown = str(uuid.uuid4())
    before = {j: await lease_left_s(pool, j) for j in (older, elsewhere)}
    asked = RenewLeases(
        executor_id="ex",
        lease_ms=60_000,
        jobs=[
            JobLease(job_id=held, attempt=1),
            JobLease(job_id=older, attempt=2),  # not the attempt that holds it
            JobLease(job_id=elsewhere, attempt=1),
            JobLease(job_id=finished, attempt=1),
            JobLease(job_id=unknown, attempt=1),
        ],
    )
    statements: list[str] = []

    def logged(query: asyncpg.connection.LoggedQuery) -> None:
        statements.append(query.query)

    async with pool.acquire() as conn:
        conn.add_query_logger(logged)
        reply = await leases.renew_many(conn, asked)  # type: ignore[arg-type]
        conn.remove_query_logger(logged)
    ours = [q for q in statements if "queue." in q]  # not asyncpg's own type lookups
    assert len(ours) == 1, statements
    assert {lost.job_id: lost.reason for lost in reply.lost} == {
        older: "lease lost: attempt 1 holds the job now",
        elsewhere: "lease lost: attempt 1 holds the job now",
        finished: "lease lost: the job is completed",
        unknown: "lease lost: no such job",
    }
    assert 59 < await lease_left_s(pool, held) <= 60
    for job_id, left in before.items():
        assert await lease_left_s(pool, job_id) <= left, "a lease not held was not extended"
    again = await leases.renew_many(
        pool, RenewLeases(executor_id="ex", lease_ms=1000, jobs=[JobLease(job_id=held, attempt=1)])
    )
    assert again.lost == []
    assert await lease_left_s(pool, held) <= 1, "each renewal sets the lease from now"


async def test_a_renewal_naming_more_jobs_than_a_request_may_carry_is_refused(
    pool: asyncpg.Pool,
) -> None:
    jobs = [JobLease(job_id=str(uuid.uuid4()), attempt=1) for _ in range(RENEW_BATCH + 1)]
    with pytest.raises(PermanentError, match=f"at most {RENEW_BATCH}"):
        await leases.renew_many(pool, RenewLeases(executor_id="ex", lease_ms=1000, jobs=jobs))
    with pytest.raises(PermanentError, match="not a job id"):
        await leases.renew_many(
            pool,
            RenewLeases(
                executor_id="ex", lease_ms=1000, jobs=[JobLease(job_id="job-1", attempt=1)]
            ),
        )
    full = await leases.renew_many(
        pool, RenewLeases(executor_id="ex", lease_ms=1000, jobs=jobs[:RENEW_BATCH])
    )
    assert len(full.lost) == RENEW_BATCH


async def test_batched_renewals_and_the_reapers_grace_never_deadlock(pool: asyncpg.Pool) -> None:
    """Both lock many jobs; in different orders they would wait on each other until
    PostgreSQL's deadlock check killed one (a second later), again and again under load."""
    ids = [await running(pool, "ex") for _ in range(300)]
    jobs = [JobLease(job_id=j, attempt=1) for j in sorted(ids, reverse=True)]
    watch = reaper.Watch(unwatched_s=2.0, grace_s=10.0)
    for _ in range(8):
        await pool.execute("UPDATE queue.reaper_watch SET passed_at = now() - interval '30 s'")
        renewals = [
            leases.renew_many(
                pool, RenewLeases(executor_id="ex", lease_ms=1000, jobs=jobs[i : i + 100])
            )
            for i in range(0, len(jobs), 100)
        ]
        results = await asyncio.gather(
            reaper.reap_expired(pool, watch=watch), *renewals, return_exceptions=True
        )
        assert not [r for r in results if isinstance(r, BaseException)], results


UPDATES = (
    "SELECT pg_stat_get_xact_tuples_updated('queue.jobs'::regclass) AS updated, "
    "pg_stat_get_xact_tuples_hot_updated('queue.jobs'::regclass) AS hot"
)
"""Rows of queue.jobs this backend updated, and how many of those in place (HOT), not yet
reported to the statistics."""


async def test_a_batched_renewal_is_a_hot_update_that_writes_no_index(pool: asyncpg.Pool) -> None:
    """No index holds the lease, and pages keep room for new versions: renewing every running
    job of a page in one statement changes the rows in place (HOT), not each index of the
    table (migrations/022_hot_lease_renewals.sql)."""
    ids = [await running(pool, "ex") for _ in range(60)]
    renewal = RenewLeases(
        executor_id="ex", lease_ms=5000, jobs=[JobLease(job_id=j, attempt=1) for j in ids]
    )
    async with pool.acquire() as conn, conn.transaction():
        before = await conn.fetchrow(UPDATES)
        reply = await leases.renew_many(conn, renewal)  # type: ignore[arg-type]
        after = await conn.fetchrow(UPDATES)
    assert reply.lost == []
    assert (after["updated"] - before["updated"], after["hot"] - before["hot"]) == (60, 60)
