"""Group commits: concurrent submissions share a transaction, and each is recorded as if alone.

The queue's handlers run against a private database on the real PostgreSQL; the submit's 201 is
built from the submission and the queue's answer, and must equal the job read back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
from runwright_gateway import views
from runwright_proto.commands import DispatchJob, StepSpec, SubmitJob
from runwright_proto.events import StatusEvent
from runwright_queue import submission
from runwright_queue.grouping import Grouped
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


def command(steps: int = 2, **extra: object) -> SubmitJob:
    document = runbook(
        [{"action": {"type": "wait", "duration": 1}} for _ in range(steps)], start_url="about:blank"
    )
    parsed = parse_runbook(document)
    return SubmitJob(
        job_id=str(uuid.uuid4()),
        title="grouped",
        runbook=parsed,
        steps=[
            StepSpec(ordinal=s.ordinal, description=f"step {s.ordinal}", action_type="wait")
            for s in parsed.steps
        ],
        labels={"team": "ops"},
        **extra,  # type: ignore[arg-type]
    )


async def test_concurrent_submissions_go_together_and_answer_each_their_own() -> None:
    seen: list[list[int]] = []

    async def apply(items: list[int]) -> list[int]:
        seen.append(items)
        await asyncio.sleep(0.01)  # a commit
        return [i * 10 for i in items]

    grouped: Grouped[int, int] = Grouped(apply)
    first = asyncio.create_task(grouped(0))
    await asyncio.sleep(0.002)
    assert seen == [[0]]  # an idle queue writes a request at once, holding nothing back
    rest = await asyncio.gather(*(grouped(i) for i in range(1, 20)))
    assert [await first, *rest] == [i * 10 for i in range(20)]
    assert seen == [[0], list(range(1, 20))]  # those that waited went together


async def test_one_bad_request_in_a_group_fails_alone() -> None:
    async def apply(items: list[int]) -> list[int]:
        await asyncio.sleep(0.01)
        if 3 in items:
            raise ValueError("bad item")
        return items

    grouped: Grouped[int, int] = Grouped(apply)
    answers = await asyncio.gather(*(grouped(i) for i in range(6)), return_exceptions=True)
    assert answers[:3] + answers[4:] == [0, 1, 2, 4, 5]
    assert isinstance(answers[3], ValueError)


async def test_a_group_records_every_job_with_its_steps_first_event_and_dispatch_in_order(
    pool: asyncpg.Pool,
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    cmds = [command(), command(steps=3, secrets={"token": "s3cret"}), command(run_at=later)]
    replies = await submission.submit_many(pool, cmds, keys=KEYS)
    assert [(r.job_id, r.created, r.status) for r in replies] == [
        (cmds[0].job_id, True, "queued"),
        (cmds[1].job_id, True, "queued"),
        (cmds[2].job_id, True, "scheduled"),
    ]
    rows = await pool.fetch("SELECT id, event_seq, run_at FROM queue.jobs ORDER BY created_at")
    assert [str(r["id"]) for r in rows] == [c.job_id for c in cmds]
    assert [r["event_seq"] for r in rows] == [1, 1, 1]
    assert rows[2]["run_at"] == later
    steps = await pool.fetch(
        "SELECT job_id, ordinal, description FROM queue.job_steps ORDER BY job_id, ordinal"
    )
    assert len(steps) == 7
    assert await pool.fetchval("SELECT count(*) FROM queue.job_secrets") == 1
    secret = await pool.fetchval("SELECT ciphertext FROM queue.job_secrets")
    assert b"s3cret" not in bytes(secret)
    outbox = await pool.fetch("SELECT subject, payload FROM queue.outbox ORDER BY id")
    kinds = [
        ("event", msgspec.json.decode(r["payload"], type=StatusEvent).status)
        if r["subject"].startswith("runwright.events.")
        else ("dispatch", msgspec.json.decode(r["payload"], type=DispatchJob).job_id)
        for r in outbox
    ]
    assert kinds == [
        ("event", "queued"),
        ("event", "queued"),
        ("event", "scheduled"),
        ("dispatch", cmds[0].job_id),
        ("dispatch", cmds[1].job_id),
    ]
    scheduled = await pool.fetchval(
        "SELECT body FROM queue.job_events WHERE job_id = $1", uuid.UUID(cmds[2].job_id)
    )
    assert msgspec.json.decode(scheduled)["reason"] == f"runs at {later.isoformat()}"


async def test_retried_and_repeated_job_ids_are_recorded_once(pool: asyncpg.Pool) -> None:
    first, second = command(), command()
    await submission.submit_many(pool, [first], keys=KEYS)
    replies = await submission.submit_many(pool, [first, second, second], keys=KEYS)
    assert [(r.job_id, r.created) for r in replies] == [
        (first.job_id, False),
        (second.job_id, True),
        (second.job_id, False),
    ]
    assert replies[0].status == "queued"
    assert await pool.fetchval("SELECT count(*) FROM queue.jobs") == 2
    assert await pool.fetchval("SELECT count(*) FROM queue.job_events") == 2
    assert await pool.fetchval("SELECT count(*) FROM queue.outbox") == 4


async def test_a_group_is_admitted_job_by_job_against_the_queue_limit(pool: asyncpg.Pool) -> None:
    await submission.submit_many(pool, [command()], max_queued=3, keys=KEYS)
    replies = await submission.submit_many(
        pool, [command() for _ in range(4)], max_queued=3, keys=KEYS
    )
    assert [r.status for r in replies] == ["queued", "queued", "rejected", "rejected"]
    assert all(r.retry_after_s for r in replies[2:])
    assert await pool.fetchval("SELECT count(*) FROM queue.jobs") == 3


async def test_the_submit_answer_is_the_job_as_read_back(pool: asyncpg.Pool) -> None:
    cmds = [command(), command(steps=1, run_at=datetime.now(UTC) + timedelta(hours=1))]
    replies = await submission.submit_many(pool, cmds, keys=KEYS)
    for cmd, reply in zip(cmds, replies, strict=True):
        built = views.new_job(cmd, reply)
        read = await views.get_job(pool, uuid.UUID(cmd.job_id), cmd.workspace)
        assert built is not None
        assert read is not None
        assert msgspec.to_builtins(built) == msgspec.to_builtins(read)
    again = await submission.submit_many(pool, cmds[:1], keys=KEYS)
    assert views.new_job(cmds[0], again[0]) is None  # a retry is read back instead
