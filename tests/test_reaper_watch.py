"""The reaper's watch counts a pass as passing until it ends: a slow pass (thousands of leases to
extend, a loaded machine) is not taken for an outage by the next one, which would extend every
lease again instead of reaping, pass after pass."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from runwright_proto.commands import ClaimJob, StepSpec, SubmitJob
from runwright_queue import claims, reaper, submission
from runwright_queue.sealing import transient
from runwright_runbook import parse_runbook
from runwright_stack.stack import Stack
from support.database import private_database
from support.runbooks import runbook

KEYS = transient()
WATCH = reaper.Watch(unwatched_s=2.0, grace_s=10.0)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=10) as db:
        yield db


async def lease_end(pool: asyncpg.Pool) -> object:
    return await pool.fetchval("SELECT lease_expires_at FROM queue.jobs")


async def test_a_slow_grace_pass_is_not_taken_for_an_outage_by_the_next_pass(
    pool: asyncpg.Pool,
) -> None:
    parsed = parse_runbook(
        runbook([{"action": {"type": "wait", "duration": 1}}], start_url="about:blank")
    )
    cmd = SubmitJob(
        job_id=str(uuid.uuid4()),
        title="t",
        runbook=parsed,
        steps=[StepSpec(ordinal=0, description="d", action_type="wait")],
    )
    await submission.submit(pool, cmd, keys=KEYS)
    await claims.claim(pool, ClaimJob(job_id=cmd.job_id, executor_id="ex", lease_ms=1), keys=KEYS)
    await pool.execute("UPDATE queue.reaper_watch SET passed_at = now() - interval '30 s'")
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM queue.jobs FOR UPDATE")  # the grace waits for it
        slow = asyncio.create_task(reaper.reap_expired(pool, watch=WATCH))
        await asyncio.sleep(3)  # longer than the watch allows between passes
    assert await slow == 0
    granted = await lease_end(pool)
    assert await reaper.reap_expired(pool, watch=WATCH) == 0
    assert await lease_end(pool) == granted, "the next pass granted no second grace"
