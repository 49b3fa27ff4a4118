"""The queue applies an attempt's reports in the order the executor sent them, and announces an
approval only after the steps before it and once its evidence is stored (handlers on a private
database; the whole path through the real stack is checked by ``support.causal``)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import msgspec
import pytest
from runwright_proto.artifacts import ArtifactStored
from runwright_proto.commands import ClaimJob
from runwright_proto.control import JobState
from runwright_proto.reports import ApprovalRequested, StepFinished, StepStarted
from runwright_queue import artifacts, claims, control, reports, submission
from runwright_queue.approvals import EvidencePending
from runwright_queue.sealing import transient
from runwright_stack.stack import Stack
from support import causal
from support.database import private_database
from test_queue_invariants import command, events

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=10) as db:
        yield db


async def running_job(pool: asyncpg.Pool, steps: int = 2) -> str:
    cmd = command(steps)
    assert (await submission.submit(pool, cmd, keys=KEYS)).created
    reply = await claims.claim(
        pool, ClaimJob(job_id="nudge", executor_id="ex", lease_ms=30000), keys=KEYS
    )
    assert reply.granted
    assert reply.job_id == cmd.job_id
    return cmd.job_id


def started(job: str, seq: int, ordinal: int, description: str | None = None) -> StepStarted:
    return StepStarted(
        job_id=job,
        attempt=1,
        at=datetime.now(UTC),
        seq=seq,
        ordinal=ordinal,
        description=description,
    )


def finished(job: str, seq: int, ordinal: int) -> StepFinished:
    return StepFinished(
        job_id=job, attempt=1, at=datetime.now(UTC), seq=seq, ordinal=ordinal,
        status="success", duration_ms=1,
    )  # fmt: skip


def approval(job: str, seq: int, ordinal: int, shot: str | None = None) -> ApprovalRequested:
    return ApprovalRequested(
        job_id=job, attempt=1, at=datetime.now(UTC), seq=seq, ordinal=ordinal,
        description="Confirm the deletion of 4 accounts", risk_level="high",
        screenshot_artifact_id=shot,
    )  # fmt: skip


async def test_a_report_ahead_of_its_turn_waits_for_the_one_before(pool: asyncpg.Pool) -> None:
    job = await running_job(pool)
    with pytest.raises(reports.OutOfTurn):
        await reports.apply_report(pool, finished(job, 2, 0), keys=KEYS)
    assert await reports.apply_report(pool, started(job, 1, 0), keys=KEYS)
    assert await reports.apply_report(pool, finished(job, 2, 0), keys=KEYS)
    assert await reports.apply_report(pool, started(job, 1, 0), keys=KEYS) is False, "a duplicate"
    kinds = [kind for _, kind in await events(pool, job)]
    assert kinds[-2:] == ["step", "step"]
    rows = await pool.fetch("SELECT type, body FROM queue.job_events ORDER BY seq")
    steps = [msgspec.json.decode(r["body"])["status"] for r in rows if r["type"] == "step"]
    assert steps == ["running", "success"]


async def test_an_approval_request_cannot_overtake_the_step_before_it(pool: asyncpg.Pool) -> None:
    job = await running_job(pool)
    assert await reports.apply_report(pool, started(job, 1, 0), keys=KEYS)
    with pytest.raises(reports.OutOfTurn):
        await reports.apply_report(pool, approval(job, 3, 1), keys=KEYS)
    assert await pool.fetchval("SELECT status FROM queue.jobs") == "running"
    assert await reports.apply_report(pool, finished(job, 2, 0), keys=KEYS)
    assert await reports.apply_report(pool, approval(job, 3, 1), keys=KEYS)
    rows = await pool.fetch("SELECT type, body FROM queue.job_events ORDER BY seq")
    tail = [(r["type"], msgspec.json.decode(r["body"]).get("status")) for r in rows][-3:]
    assert tail == [("step", "success"), ("status", "waiting_for_approval"), ("approval", None)]
    reason = await pool.fetchval("SELECT reason FROM queue.jobs")
    assert reason == "step 2 needs approval", "people read steps from 1"


async def test_an_approval_is_announced_once_its_screenshot_is_stored(pool: asyncpg.Pool) -> None:
    job = await running_job(pool)
    shot = str(uuid.uuid4())
    with pytest.raises(EvidencePending):
        await reports.apply_report(pool, approval(job, 1, 0, shot), keys=KEYS)
    assert await pool.fetchval("SELECT count(*) FROM queue.job_approvals") == 0
    stored = ArtifactStored(
        artifact_id=shot, job_id=job, kind="screenshot", name="approval.png", size=10,
        content_type="image/png", sha256="0" * 64, at=datetime.now(UTC), ordinal=0,
    )  # fmt: skip
    assert await artifacts.record_artifact(pool, stored)
    assert await reports.apply_report(pool, approval(job, 1, 0, shot), keys=KEYS)
    kinds = [kind for _, kind in await events(pool, job)]
    assert kinds.index("artifact") < kinds.index("approval")
    evidence = await pool.fetchval("SELECT screenshot_artifact_id FROM queue.job_approvals")
    assert str(evidence) == shot


async def test_a_waiting_executor_reads_only_its_own_steps_decision(pool: asyncpg.Pool) -> None:
    job = await running_job(pool, steps=3)
    assert await reports.apply_report(pool, approval(job, 1, 0), keys=KEYS)
    await pool.execute("UPDATE queue.job_approvals SET state = 'approved'")
    await pool.execute("UPDATE queue.jobs SET status = 'running'")
    state = await control.job_state(pool, JobState(job_id=job, attempt=1, ordinal=2))
    assert state.decision is None, "step 1's approval is no answer for step 3"
    state = await control.job_state(pool, JobState(job_id=job, attempt=1, ordinal=0))
    assert state.decision == "approve"


async def test_a_started_step_keeps_its_rendered_description(pool: asyncpg.Pool) -> None:
    job = await running_job(pool)
    await pool.execute("UPDATE queue.job_steps SET description = 'Open {{region}}', "
                       "description_template = 'Open {{region}}'")  # fmt: skip
    assert await reports.apply_report(pool, started(job, 1, 0, "Open South"), keys=KEYS)
    row = await pool.fetchrow(
        "SELECT description, description_template FROM queue.job_steps WHERE ordinal = 0"
    )
    assert (row["description"], row["description_template"]) == ("Open South", "Open {{region}}")
    pending = await pool.fetchval("SELECT description FROM queue.job_steps WHERE ordinal = 1")
    assert pending == "Open {{region}}", "a step that has not started shows its template"


def test_the_causal_check_sees_an_approval_ahead_of_the_step_before_it() -> None:
    def event(seq: int, kind: str, **body: object) -> dict[str, object]:
        return {"seq": seq, "type": kind, **body}

    ordered = [
        event(1, "status", status="queued"),
        event(2, "status", status="running"),
        event(3, "step", ordinal=0, status="running"),
        event(4, "step", ordinal=0, status="success"),
        event(5, "status", status="waiting_for_approval"),
        event(6, "approval", ordinal=1, state="requested"),
        event(7, "status", status="running"),
        event(8, "step", ordinal=1, status="running"),
        event(9, "step", ordinal=1, status="success"),
        event(10, "report"),
        event(11, "status", status="completed"),
    ]
    assert causal.violations(ordered) == []
    swapped = [*ordered[:3], ordered[4], ordered[5], ordered[3], *ordered[6:]]
    swapped = [{**e, "seq": i + 1} for i, e in enumerate(swapped)]
    assert causal.violations(swapped) == ["#5 the approval for step 2 came before step 1 finished"]
    late_report = [*ordered[:9], ordered[10], ordered[9]]
    late_report = [{**e, "seq": i + 1} for i, e in enumerate(late_report)]
    assert causal.violations(late_report) == [
        "#10 events after the final status completed",
        "#11 the report is not followed by the final status",
    ]
