"""Submit-to-running latency: HTTP submit until the ``running`` status event arrives over SSE.

Baseline, measured in the same run against the same nats-server: a raw NATS request/reply round
trip (the floor under any NATS-based hand-off).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import nats
from runwright_stack.stack import Stack

from tests.bench.stats import summary_ms, table

RUNBOOK = {
    "title": "bench: one tiny step",
    "settings": {"defaultTimeout": 5000, "pauseBetweenSteps": 0, "stopOnError": True},
    "metadata": {
        "startUrl": "about:blank",
        "goal": "bench",
        "goalAchieved": True,
        "totalSteps": 1,
        "generatedAt": "2026-01-01T00:00:00Z",
    },
    "steps": [{"ordinal": 0, "description": "wait", "action": {"type": "wait", "duration": 1}}],
}


async def nats_round_trips(url: str, count: int) -> list[float]:
    server = await nats.connect(url)
    client = await nats.connect(url)

    async def echo(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(msg.data)

    await server.subscribe("bench.echo", cb=echo)
    await server.flush()
    samples = []
    payload = json.dumps(RUNBOOK).encode()
    for _ in range(count):
        started = time.perf_counter()
        await client.request("bench.echo", payload, timeout=5)
        samples.append(time.perf_counter() - started)
    await client.close()
    await server.close()
    return samples


async def submit_to_running(stack: Stack, count: int) -> list[float]:
    headers = {"Authorization": f"Bearer {stack.token}"}
    samples = []
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=60) as api:
        for index in range(count):
            started = time.perf_counter()
            response = await api.post("/api/v1/jobs", json={"runbook": RUNBOOK})
            response.raise_for_status()
            job_id = response.json()["id"]
            running_at = None
            async with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
                async for line in events.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = json.loads(line[5:])
                    if (
                        data["type"] == "status"
                        and data["status"] == "running"
                        and running_at is None
                    ):
                        running_at = time.perf_counter()
                    if data["type"] == "status" and data["status"] in ("completed", "failed"):
                        break
            assert running_at is not None
            samples.append(running_at - started)
            if (index + 1) % 50 == 0:
                print(f"  … {index + 1}/{count} jobs", flush=True)
    return samples


def run(stack: Stack, jobs: int = 200) -> str:
    baseline = summary_ms(asyncio.run(nats_round_trips(stack.nats.url, 1000)))
    ours = summary_ms(asyncio.run(submit_to_running(stack, jobs)))
    rows = [
        ("submit → running on SSE", f"{jobs}", f"{ours['p50']:.2f}", f"{ours['p99']:.2f}"),
        ("raw NATS request/reply", "1000", f"{baseline['p50']:.3f}", f"{baseline['p99']:.3f}"),
        (
            "ratio (ours / NATS)",
            "",
            f"{ours['p50'] / baseline['p50']:.1f}x",
            f"{ours['p99'] / baseline['p99']:.1f}x",
        ),
    ]
    return table("Submit-to-running latency (ms)", rows, ("measure", "n", "p50", "p99"))
