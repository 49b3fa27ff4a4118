"""Many open consoles on one gateway: every workspace-stream client gets every event, and when
they leave no JetStream consumer stays behind (they share the gateway's one)."""

from __future__ import annotations

import asyncio
import json

import httpx
import nats
import pytest
from runwright_proto import streams
from runwright_stack.stack import Stack
from support.runbooks import runbook
from test_job_list_api_e2e import later

pytestmark = pytest.mark.e2e

CLIENTS = 200


async def consumer_count(stack: Stack) -> int:
    nc = await nats.connect(stack.nats.url)
    try:
        return (await nc.jetstream().stream_info(streams.EVENTS.name)).state.consumer_count
    finally:
        await nc.close()


async def listen(
    http: httpx.AsyncClient, ready: asyncio.Queue[None], job: asyncio.Future[str]
) -> list[str]:
    """Statuses of the job under test, in the order this client got them.

    Every status is kept with its job id and filtered at the end: an event can reach a client
    before the submit's own response reaches the test, so the job id is not known yet."""
    seen: list[tuple[str, str]] = []
    async with http.stream("GET", "/api/v1/events?types=status") as response:
        assert response.status_code == 200
        kind = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind == "ready":
                ready.put_nowait(None)
            elif line.startswith("data:") and kind == "status":
                data = json.loads(line.split(":", 1)[1])
                seen.append((data["job_id"], data["status"]))
                if job.done() and (job.result(), "cancelled") in seen:
                    break
    return [status for job_id, status in seen if job_id == job.result()]


async def test_hundreds_of_workspace_clients_share_one_consumer_and_leave_none(
    stack: Stack, demo_url: str
) -> None:
    baseline = await consumer_count(stack)
    headers = {"Authorization": f"Bearer {stack.token}"}
    limits = httpx.Limits(max_connections=CLIENTS + 10)
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers=headers, timeout=60, limits=limits
    ) as http:
        ready: asyncio.Queue[None] = asyncio.Queue()
        job: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        clients = [asyncio.create_task(listen(http, ready, job)) for _ in range(CLIENTS)]
        for _ in range(CLIENTS):
            await asyncio.wait_for(ready.get(), 60)
        assert await consumer_count(stack) == baseline, "no consumer per client"
        document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
        created = await http.post("/api/v1/jobs", json={"runbook": document, "run_at": later()})
        assert created.status_code == 201, created.text
        job.set_result(created.json()["id"])
        cancelled = await http.post(f"/api/v1/jobs/{job.result()}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        seen = await asyncio.wait_for(asyncio.gather(*clients), 60)
    assert {tuple(statuses) for statuses in seen} == {("scheduled", "cancelled")}, (
        "every client saw every event, in order"
    )
    for _ in range(50):
        if await consumer_count(stack) == baseline:
            break
        await asyncio.sleep(0.1)
    assert await consumer_count(stack) == baseline
