"""Submit-to-running latency: HTTP submit until the ``running`` status event arrives over SSE.

Baseline, measured in the same run against the same nats-server: a raw NATS request/reply round
trip (the floor under any NATS-based hand-off).
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime

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


async def submit_to_running(stack: Stack, count: int) -> tuple[list[float], list[float]]:
    """Per job: submit -> ``running`` seen on SSE, and submit -> its first step started (the
    step event's own time, stamped by the executor)."""
    headers = {"Authorization": f"Bearer {stack.token}"}
    samples = []
    first_steps = []
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=60) as api:
        for index in range(count):
            started = time.perf_counter()
            wall = time.time()
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
                    if data["type"] == "step" and data.get("status") == "running":
                        at = datetime.fromisoformat(data["at"]).timestamp()
                        first_steps.append(at - wall)
                    if data["type"] == "status" and data["status"] in ("completed", "failed"):
                        break
            assert running_at is not None
            samples.append(running_at - started)
            if (index + 1) % 50 == 0:
                print(f"  … {index + 1}/{count} jobs", flush=True)
            await asyncio.sleep(0.05)  # the slot's spare context is made again meanwhile
    return samples, first_steps


def run(stack: Stack, jobs: int = 200) -> str:
    baseline = summary_ms(asyncio.run(nats_round_trips(stack.nats.url, 1000)))
    running, first_steps = asyncio.run(submit_to_running(stack, jobs))
    ours = summary_ms(running)
    first = summary_ms(first_steps)
    rows = [
        ("submit → running on SSE", f"{jobs}", f"{ours['p50']:.2f}", f"{ours['p99']:.2f}"),
        (
            "submit → first step starts (idle slot)",
            f"{len(first_steps)}",
            f"{first['p50']:.2f}",
            f"{first['p99']:.2f}",
        ),
        ("raw NATS request/reply", "1000", f"{baseline['p50']:.3f}", f"{baseline['p99']:.3f}"),
        (
            "ratio (ours / NATS)",
            "",
            f"{ours['p50'] / baseline['p50']:.1f}x",
            f"{ours['p99'] / baseline['p99']:.1f}x",
        ),
    ]
    return table("Submit-to-running latency (ms)", rows, ("measure", "n", "p50", "p99"))
