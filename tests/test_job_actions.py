"""The availability table, every (status, action) pair, against the queue service's own handler
on a private database: allowed pairs apply, the rest are refused and say the current status."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from runwright_proto.control import ACTIONS, AVAILABLE, Control, JobAction
from runwright_proto.jobs import JOB_STATUSES
from runwright_queue import control, submission
from runwright_queue.sealing import transient
from runwright_stack.stack import Stack
from support.database import private_database
from test_queue_invariants import command

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=60) as db:
        yield db


async def job_in(pool: asyncpg.Pool, status: str, kind: str = "approval") -> str:
    """A job in ``status``; one waiting for approval waits for an approval or, with ``kind``
    failure, holds a failed step."""
    cmd = command()
    await submission.submit(pool, cmd, keys=KEYS)
    await pool.execute(
        "UPDATE queue.jobs SET status = $2, attempt = 1 WHERE id = $1",
        uuid.UUID(cmd.job_id),
        status,
    )
    if status == "waiting_for_approval":
        await pool.execute(
            "INSERT INTO queue.job_approvals (id, job_id, attempt, ordinal, description, "
            "risk_level, deadline, kind) VALUES ($1, $2, 1, 0, 'd', 'high',"
            " now() + interval '1h', $3)",
            uuid.uuid4(),
            uuid.UUID(cmd.job_id),
            kind,
        )
    return cmd.job_id


class Sent:
    def __init__(self) -> None:
        self.messages: list[Control] = []

    async def __call__(self, message: Control) -> None:
        self.messages.append(message)


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("status", JOB_STATUSES)
async def test_each_action_is_available_exactly_where_the_table_says(
    pool: asyncpg.Pool,
    status: str,
    action: str,
) -> None:
    # A retry answers a held failure; every other decision an approval.
    job_id = await job_in(pool, status, "failure" if action == "retry" else "approval")
    sent = Sent()
    reply = await control.act(
        pool,
        sent,
        JobAction(
            job_id=job_id,
            action=action,  # type: ignore[arg-type]
            actor="tester",
        ),
    )
    allowed = status in AVAILABLE[action]
    assert reply.applied is allowed
    now = await pool.fetchval("SELECT status FROM queue.jobs WHERE id = $1", uuid.UUID(job_id))
    audit = await pool.fetchrow(
        "SELECT * FROM queue.job_actions WHERE job_id = $1", uuid.UUID(job_id)
    )
    assert (audit["action"], audit["actor"], audit["applied"]) == (action, "tester", allowed)
    if not allowed:
        assert now == status
        assert reply.status == status
        assert status in (reply.detail or "")
        assert sent.messages == []
        return
    expected = {"cancel": "cancelled", "pause": "paused"}.get(action, "running")
    assert now == expected
    told = [m.command for m in sent.messages]
    assert told == ([action] if status in ("running", "paused", "waiting_for_approval") else [])


async def test_fifty_concurrent_approves_have_one_winner(pool: asyncpg.Pool) -> None:
    job_id = await job_in(pool, "waiting_for_approval")
    sent = Sent()
    replies = await asyncio.gather(
        *(
            control.act(pool, sent, JobAction(job_id=job_id, action="approve", actor=f"user-{i}"))
            for i in range(50)
        )
    )
    assert sum(r.applied for r in replies) == 1
    assert {r.status for r in replies if not r.applied} == {"running"}
    assert [m.command for m in sent.messages] == ["approve"]


async def test_fifty_people_approving_or_cancelling_what_they_saw_have_one_winner(
    pool: asyncpg.Pool,
) -> None:
    job_id = await job_in(pool, "waiting_for_approval")
    seen = await pool.fetchval("SELECT version FROM queue.jobs WHERE id = $1", uuid.UUID(job_id))
    sent = Sent()
    replies = await asyncio.gather(
        *(
            control.act(
                pool,
                sent,
                JobAction(
                    job_id=job_id,
                    action="approve" if i % 2 else "cancel",
                    actor=f"user-{i}",
                    version=seen,
                ),
            )
            for i in range(50)
        )
    )
    assert sum(r.applied for r in replies) == 1
    assert len(sent.messages) == 1
    refused = [r for r in replies if not r.applied]
    assert all("changed since version" in (r.detail or "") for r in refused)
    applied = await pool.fetchval(
        "SELECT count(*) FROM queue.job_actions WHERE applied AND job_id = $1", uuid.UUID(job_id)
    )
    assert applied == 1


async def test_a_held_failure_is_not_approved_and_an_approval_is_not_retried(
    pool: asyncpg.Pool,
) -> None:
    for kind, action in (("failure", "approve"), ("approval", "retry")):
        job_id = await job_in(pool, "waiting_for_approval", kind)
        sent = Sent()
        reply = await control.act(
            pool,
            sent,
            JobAction(job_id=job_id, action=action, actor="tester"),  # type: ignore[arg-type]
        )
        assert reply.applied is False
        assert reply.status == "waiting_for_approval"
        assert sent.messages == []
