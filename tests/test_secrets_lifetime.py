"""Run secrets live only while their job can still run: every way a job ends deletes its row
(completed and failed reports, cancel while queued or running, an expired approval, a lost
executor). The queue's own handlers drive a private database on the real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from runwright_proto.commands import ClaimJob
from runwright_proto.control import Control, JobAction
from runwright_proto.reports import ApprovalRequested, JobFinished, JobReleased
from runwright_queue import claims, control, reaper, reports, submission
from runwright_queue.sealing import transient
from runwright_stack.stack import Stack
from support.database import private_database
from test_queue_invariants import command

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e
Ending = Callable[[asyncpg.Pool, str], Awaitable[object]]


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=10) as db:
        yield db


async def ignore(_: Control) -> None:
    pass


def at() -> datetime:
    return datetime.now(UTC)


async def finished(status: str) -> Ending:
    async def end(pool: asyncpg.Pool, job: str) -> object:
        report = JobFinished(job_id=job, attempt=1, at=at(), status=status)  # type: ignore[arg-type]
        return await reports.apply_report(pool, report, keys=KEYS)

    return end


async def cancel(pool: asyncpg.Pool, job: str) -> object:
    return await control.act(pool, ignore, JobAction(job_id=job, action="cancel", actor="t"))


async def expire_approval(pool: asyncpg.Pool, job: str) -> object:
    asked = ApprovalRequested(
        job_id=job, attempt=1, at=at(), ordinal=0, description="d", risk_level="high", timeout_s=0
    )
    assert await reports.apply_report(pool, asked, keys=KEYS)
    return await control.expire_approvals(pool, ignore)


async def lose_lease(pool: asyncpg.Pool, job: str) -> object:
    await pool.execute(
        "UPDATE queue.jobs SET lease_expires_at = now() - interval '1 minute' WHERE id = $1",
        uuid.UUID(job),
    )
    return await reaper.reap_expired(pool)


async def hand_back(pool: asyncpg.Pool, job: str) -> object:
    released = JobReleased(job_id=job, attempt=1, at=at(), executor_id="ex")
    return await reports.apply_report(pool, released, keys=KEYS)


ENDINGS: dict[str, tuple[bool, str, Ending | None]] = {
    "completed": (True, "completed", None),
    "failed": (True, "failed", None),
    "cancelled while queued": (False, "cancelled", cancel),
    "cancelled while running": (True, "cancelled", cancel),
    "approval timed out": (True, "failed", expire_approval),
    "executor lost": (True, "failed", lose_lease),
    "handed back": (True, "failed", hand_back),
}


@pytest.mark.parametrize("ending", list(ENDINGS))
async def test_every_way_a_job_ends_deletes_its_secrets(pool: asyncpg.Pool, ending: str) -> None:
    claimed, status, end = ENDINGS[ending]
    cmd = msgspec.structs.replace(command(), secrets={"pw": "s3cret"})
    await submission.submit(pool, cmd, keys=KEYS)
    if claimed:
        nudge = ClaimJob(job_id="n", executor_id="ex", lease_ms=30000)
        assert (await claims.claim(pool, nudge, keys=KEYS)).secrets == {"pw": "s3cret"}
    await (end or await finished(status))(pool, cmd.job_id)
    job_id = uuid.UUID(cmd.job_id)
    assert await pool.fetchval("SELECT status FROM queue.jobs WHERE id = $1", job_id) == status
    assert await pool.fetchval("SELECT count(*) FROM queue.job_secrets") == 0
