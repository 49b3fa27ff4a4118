"""Postgres decides: the queue service's transitions are versioned, fenced and idempotent.

These drive the queue service's own handlers against a private database on the real PostgreSQL,
with no relay running, so nothing is dispatched behind the test's back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from runwright_proto.commands import ClaimJob, RenewLease, StepSpec, SubmitJob
from runwright_proto.reports import JobFinished, StepFinished, StepStarted
from runwright_queue import claims, reaper, reports, submission
from runwright_queue.sealing import transient
from runwright_runbook import parse_runbook
from runwright_stack.stack import Stack
from support.database import private_database
from support.runbooks import runbook

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=30) as db:
        yield db


def command(steps: int = 2) -> SubmitJob:
    document = runbook(
        [{"action": {"type": "wait", "duration": 1}} for _ in range(steps)], start_url="about:blank"
    )
    parsed = parse_runbook(document)
    return SubmitJob(
        job_id=str(uuid.uuid4()),
        title="t",
        runbook=parsed,
        steps=[
            StepSpec(ordinal=s.ordinal, description="d", action_type="wait") for s in parsed.steps
        ],
    )


def now() -> datetime:
    return datetime.now(UTC)


async def events(pool: asyncpg.Pool, job_id: str) -> list[tuple[int, str]]:
    rows = await pool.fetch(
        "SELECT seq, type FROM queue.job_events WHERE job_id = $1 ORDER BY seq", uuid.UUID(job_id)
    )
    return [(r["seq"], r["type"]) for r in rows]


async def test_resubmitting_the_same_job_id_records_it_once(pool: asyncpg.Pool) -> None:
    cmd = command()
    first = await submission.submit(pool, cmd, keys=KEYS)
    again = await submission.submit(pool, cmd, keys=KEYS)
    assert (first.created, again.created) == (True, False)
    assert await pool.fetchval("SELECT count(*) FROM queue.job_steps") == 2
    assert await events(pool, cmd.job_id) == [(1, "status")]
    assert await pool.fetchval("SELECT count(*) FROM queue.outbox") == 2  # event + dispatch


async def test_concurrent_claims_give_the_job_to_exactly_one_executor(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    replies = await asyncio.gather(
        *(
            claims.claim(
                pool, ClaimJob(job_id=cmd.job_id, executor_id=f"ex-{i}", lease_ms=30000), keys=KEYS
            )
            for i in range(25)
        )
    )
    granted = [r for r in replies if r.granted]
    assert len(granted) == 1
    assert granted[0].attempt == 1
    assert {r.reason for r in replies if not r.granted} == {"nothing queued"}
    assert await events(pool, cmd.job_id) == [(1, "status"), (2, "status")]


async def test_a_redelivered_report_changes_nothing(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(
        pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=30000), keys=KEYS
    )
    started = StepStarted(job_id=cmd.job_id, attempt=1, at=now(), ordinal=0)
    assert await reports.apply_report(pool, started, keys=KEYS) is True
    before = await events(pool, cmd.job_id)
    assert await reports.apply_report(pool, started, keys=KEYS) is False
    assert await events(pool, cmd.job_id) == before


async def test_reports_from_an_attempt_that_does_not_hold_the_job_are_rejected(
    pool: asyncpg.Pool,
) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(
        pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=30000), keys=KEYS
    )
    before = await events(pool, cmd.job_id)
    stale = StepFinished(
        job_id=cmd.job_id, attempt=2, at=now(), ordinal=0, status="failed", duration_ms=5
    )
    assert await reports.apply_report(pool, stale, keys=KEYS) is False
    assert await events(pool, cmd.job_id) == before
    renew = RenewLease(job_id=cmd.job_id, attempt=2, executor_id="ex", lease_ms=1000)
    assert (await claims.renew(pool, renew)).ok is False
    assert (
        await claims.renew(
            pool, RenewLease(job_id=cmd.job_id, attempt=1, executor_id="ex", lease_ms=1000)
        )
    ).ok is True


async def test_a_finished_job_ignores_late_reports(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(
        pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=30000), keys=KEYS
    )
    done = JobFinished(job_id=cmd.job_id, attempt=1, at=now(), status="completed")
    assert await reports.apply_report(pool, done, keys=KEYS) is True
    late = StepFinished(
        job_id=cmd.job_id, attempt=1, at=now(), ordinal=1, status="success", duration_ms=1
    )
    assert await reports.apply_report(pool, late, keys=KEYS) is False
    steps = await pool.fetch("SELECT status FROM queue.job_steps ORDER BY ordinal")
    assert [s["status"] for s in steps] == ["skipped", "skipped"]


async def test_an_expired_lease_fails_the_job_as_executor_lost(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=1), keys=KEYS)
    await asyncio.sleep(0.05)
    assert await reaper.reap_expired(pool) == 1
    job = await pool.fetchrow("SELECT status, reason FROM queue.jobs")
    assert (job["status"], job["reason"]) == ("failed", "executor lost")
    assert await reaper.reap_expired(pool) == 0
    seqs = [seq for seq, _ in await events(pool, cmd.job_id)]
    assert seqs == list(range(1, len(seqs) + 1))


WATCH = reaper.Watch(unwatched_s=2.0, grace_s=10.0)


async def unwatched_for(pool: asyncpg.Pool, seconds: float) -> None:
    """As if no reaper had passed for ``seconds`` (PostgreSQL or NATS was down meanwhile)."""
    await pool.execute(
        "UPDATE queue.reaper_watch SET passed_at = now() - make_interval(secs => $1)", seconds
    )


async def test_after_an_outage_expired_leases_get_a_grace_period_instead_of_being_reaped(
    pool: asyncpg.Pool,
) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=1), keys=KEYS)
    await asyncio.sleep(0.05)
    await unwatched_for(pool, 30)
    assert await reaper.reap_expired(pool, watch=WATCH) == 0
    job = await pool.fetchrow(
        "SELECT status, extract(epoch FROM lease_expires_at - now()) AS left FROM queue.jobs"
    )
    assert job["status"] == "running"
    assert 9 < job["left"] <= 10, "the lease runs the grace period from the pass"
    renewed = await claims.renew(
        pool, RenewLease(job_id=cmd.job_id, attempt=1, executor_id="ex", lease_ms=1)
    )
    assert renewed.ok, "the executor that lived through the outage keeps its job"
    await asyncio.sleep(0.05)
    assert await reaper.reap_expired(pool, watch=WATCH) == 1, "the next pass reaps as usual"
    assert await pool.fetchval("SELECT reason FROM queue.jobs") == "executor lost"


async def test_one_outage_grants_one_grace_whichever_replicas_pass(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=1), keys=KEYS)
    await unwatched_for(pool, 30)
    await asyncio.gather(*(reaper.reap_expired(pool, watch=WATCH) for _ in range(3)))
    await pool.execute("UPDATE queue.jobs SET lease_expires_at = now() - interval '1 ms'")
    assert await reaper.reap_expired(pool, watch=WATCH) == 1, "the replicas' passes stamped it"


def test_a_short_silence_grants_a_short_grace() -> None:
    assert WATCH.grace_for(2.5) == 4.5, "a stall delays detection by about its length"
    assert WATCH.grace_for(30) == 10, "at most the setting"


async def test_a_watched_pass_reaps_and_grants_nothing(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=1), keys=KEYS)
    await asyncio.sleep(0.05)
    await unwatched_for(pool, 1)
    assert await reaper.reap_expired(pool, watch=WATCH) == 1


async def test_concurrent_finishes_apply_once(pool: asyncpg.Pool) -> None:
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=1), keys=KEYS)
    await asyncio.sleep(0.05)
    finished = JobFinished(job_id=cmd.job_id, attempt=1, at=now(), status="completed")
    results = await asyncio.gather(
        reports.apply_report(pool, finished, keys=KEYS),
        reaper.reap_expired(pool),
        return_exceptions=True,
    )
    assert not [r for r in results if isinstance(r, Exception)]
    statuses = await pool.fetch(
        "SELECT body FROM queue.job_events WHERE type = 'status' ORDER BY seq"
    )
    terminal = [
        s["body"] for s in statuses if '"completed"' in s["body"] or '"failed"' in s["body"]
    ]
    assert len(terminal) == 1
