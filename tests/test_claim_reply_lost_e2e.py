"""A claim whose reply is lost loses no job. The queue granted the claim and the reply never
reached the executor (what a NATS node killed between the two does): the executor asks again
with the same claim id, gets the same grant, and runs the job, its first attempt, each step once,
instead of leaving it ``running`` until the lease runs out and the job fails as
``executor lost`` with no step run."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import msgspec
import pytest
from runwright_proto.commands import ClaimReply
from runwright_stack.stack import Stack
from support.nats_tap import Tap, granted_claim, lose_once, nats_tap
from support.runbooks import runbook
from support.sse import read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tapped() -> Iterator[tuple[Stack, Tap]]:
    """The stack, its one executor connected to NATS through a tap that loses the first reply
    granting a claim."""
    with running_stack() as stack, nats_tap(stack.nats.port, lose_once(granted_claim)) as tap:
        executor = stack.service("executor-0")
        assert executor.proc is not None
        os.kill(executor.proc.pid, signal.SIGKILL)
        executor.proc.wait()
        executor.env["RUNWRIGHT_NATS_URL"] = tap.address
        stack.revive()
        yield stack, tap


async def job_row(dsn: str, job_id: str) -> asyncpg.Record:
    connection = await asyncpg.connect(dsn)
    try:
        row = await connection.fetchrow(
            "SELECT status, attempt, reason FROM queue.jobs WHERE id = $1", uuid.UUID(job_id)
        )
        assert row is not None
        return row
    finally:
        await connection.close()


def test_a_job_whose_claim_reply_was_lost_runs_once_on_its_first_attempt(
    tapped: tuple[Stack, Tap], fixture_url: str
) -> None:
    stack, tap = tapped
    api = httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.token}"}
    )
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/static"}},
            {"action": {"type": "wait", "duration": 10}},
        ],
        start_url=f"{fixture_url}/static",
    )
    made = api.post("/api/v1/jobs", json={"runbook": document})
    assert made.status_code == 201, made.text
    job_id = made.json()["id"]
    deadline = time.monotonic() + 90
    while (job := api.get(f"/api/v1/jobs/{job_id}").json())["status"] not in (
        "completed",
        "failed",
        "cancelled",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    [lost] = tap.lost
    dropped = msgspec.json.decode(lost[lost.find(b"{") :], type=ClaimReply)
    assert (dropped.job_id, dropped.attempt) == (job_id, 1), "the lost reply granted this job"
    assert job["status"] == "completed", job.get("reason")
    row = asyncio.run(job_row(stack.database_url, job_id))
    assert (row["status"], row["attempt"]) == ("completed", 1)
    assert [s["status"] for s in job["steps"]] == ["success", "success"]
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    statuses = [e.data["status"] for e in events if e.event == "status"]
    assert statuses == ["queued", "running", "completed"], "one claim, one start"
    started = [
        e.data["ordinal"] for e in events if e.event == "step" and e.data["status"] == "running"
    ]
    assert started == [0, 1], "each step ran once"
