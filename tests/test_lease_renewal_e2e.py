"""An executor renews all its running jobs' leases in one request per renewal period, and a job
the queue names lost in that request stops alone: the executor's other jobs run on."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import msgspec
import nats
import pytest
from runwright_common.settings import load
from runwright_executor.settings import ExecutorSettings
from runwright_proto import subjects
from runwright_proto.commands import RenewLeases
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.stack import running_stack

pytestmark = pytest.mark.e2e

JOBS = 3
STEP_MS = 4000
TERMINAL = {"completed", "failed", "cancelled"}


@pytest.fixture(scope="module")
def three_slots() -> Iterator[Stack]:
    with running_stack(executors=1, executor_slots=JOBS) as stack:
        yield stack


def until(api: httpx.Client, ids: list[str], statuses: set[str], within_s: float) -> dict[str, str]:
    deadline = time.monotonic() + within_s
    seen: dict[str, str] = {}
    while time.monotonic() < deadline:
        seen = {j: api.get(f"/api/v1/jobs/{j}").json()["status"] for j in ids}
        if set(seen.values()) <= statuses:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"not all {statuses} after {within_s:g} s: {seen}")


async def renewals_seen(url: str, seconds: float) -> tuple[list[RenewLeases], int]:
    """Batched renewal requests on the bus for ``seconds`` (beside the queue's own
    subscription), and how many per-job renewals went by meanwhile."""
    nc = await nats.connect(url)
    batched: list[RenewLeases] = []
    per_job = 0

    async def on_batch(msg: nats.aio.msg.Msg) -> None:
        batched.append(msgspec.json.decode(msg.data, type=RenewLeases))

    async def on_one(_: nats.aio.msg.Msg) -> None:
        nonlocal per_job
        per_job += 1

    await nc.subscribe(subjects.RENEW_LEASES, cb=on_batch)
    await nc.subscribe(subjects.RENEW, cb=on_one)
    await nc.flush()
    await asyncio.sleep(seconds)
    await nc.close()
    return batched, per_job


async def take_over(database_url: str, job_id: str) -> None:
    """As if another attempt had claimed the job: its executor no longer holds it."""
    db = await asyncpg.connect(database_url)
    try:
        await db.execute(
            "UPDATE queue.jobs SET attempt = attempt + 1 WHERE id = $1", uuid.UUID(job_id)
        )
    finally:
        await db.close()


def test_an_executor_renews_all_its_jobs_in_one_request_per_period_and_a_lost_one_stops_alone(
    three_slots: Stack, fixture_url: str
) -> None:
    stack = three_slots
    period_s = load(ExecutorSettings, {}).lease_renew_ms / 1000
    api = httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.token}"}
    )
    document = runbook(
        [{"action": {"type": "wait", "duration": STEP_MS}} for _ in range(3)],
        start_url=f"{fixture_url}/static",
        timeout_ms=STEP_MS + 30000,
    )
    ids = [api.post("/api/v1/jobs", json={"runbook": document}).json()["id"] for _ in range(JOBS)]
    until(api, ids, {"running"}, 60)
    window_s = 3 * period_s
    batched, per_job = asyncio.run(renewals_seen(stack.nats.url, window_s))
    print(f"\n{len(batched)} renewal requests in {window_s:g} s for {JOBS} running jobs")
    assert per_job == 0, "no job renewed on its own"
    # One a period (a retry after a slow answer may add one), each naming every running job:
    # renewed one by one they would be nine requests of one job each.
    assert 2 <= len(batched) <= 6, [len(b.jobs) for b in batched]
    for request in batched:
        assert sorted(j.job_id for j in request.jobs) == sorted(ids)
        assert {j.attempt for j in request.jobs} == {1}

    asyncio.run(take_over(stack.database_url, ids[0]))
    ended = until(api, ids, TERMINAL, 90)
    assert ended == {ids[0]: "failed", ids[1]: "completed", ids[2]: "completed"}
    assert api.get(f"/api/v1/jobs/{ids[0]}").json()["reason"] == "executor lost"
    for job_id in ids[1:]:
        steps = api.get(f"/api/v1/jobs/{job_id}").json()["steps"]
        assert [s["status"] for s in steps] == ["success"] * 3
