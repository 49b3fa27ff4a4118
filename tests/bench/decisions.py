"""From a person's decision to its effect in the browser, p50/p99:

- approve: POST approve → the approved step starts (its `running` event);
- resume: POST resume → the next step starts;
- cancel: POST cancel → the page stops beating (its browser context is closed).

Baseline in the same run: a raw NATS request/reply round trip.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
from runwright_stack.stack import Stack

from tests.bench.stats import percentile, table
from tests.bench.submit_latency import nats_round_trips

ROUNDS = 20


def runbook(base: str, steps: list[dict[str, object]], start: str) -> dict[str, object]:
    return {
        "title": "bench",
        "settings": {"baseUrl": base, "defaultTimeout": 60000, "pauseBetweenSteps": 0},
        "metadata": {
            "startUrl": start,
            "goal": "bench",
            "goalAchieved": True,
            "totalSteps": len(steps),
            "generatedAt": "2026-01-01T00:00:00Z",
        },
        "steps": [{"ordinal": i, "description": f"s{i}", **s} for i, s in enumerate(steps)],
    }


async def until(api: httpx.AsyncClient, job_id: str, needle: str) -> float:
    async with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
        async for line in response.aiter_lines():
            if line.startswith("data:") and all(n in line for n in needle.split("&")):
                return time.time()
    raise RuntimeError(f"{needle} never came")


async def approve_once(api: httpx.AsyncClient, base: str) -> float:
    steps = [{"requiresConfirmation": True, "action": {"type": "wait", "duration": 1}}]
    job = (
        await api.post("/api/v1/jobs", json={"runbook": runbook(base, steps, f"{base}/static")})
    ).json()
    await until(api, job["id"], '"status":"waiting_for_approval"')
    waiter = asyncio.create_task(until(api, job["id"], '"type":"step"&"status":"running"'))
    await asyncio.sleep(0.2)
    started = time.time()
    await api.post(f"/api/v1/jobs/{job['id']}/approve")
    return await waiter - started


async def resume_once(api: httpx.AsyncClient, base: str) -> float:
    steps = [
        {"action": {"type": "wait", "duration": 300}},
        {"action": {"type": "wait", "duration": 1}},
    ]
    job = (
        await api.post("/api/v1/jobs", json={"runbook": runbook(base, steps, f"{base}/static")})
    ).json()
    await until(api, job["id"], '"ordinal":0&"status":"running"')
    await api.post(f"/api/v1/jobs/{job['id']}/pause")
    await until(api, job["id"], '"ordinal":0&"status":"success"')
    waiter = asyncio.create_task(until(api, job["id"], '"ordinal":1&"status":"running"'))
    await asyncio.sleep(0.2)
    started = time.time()
    await api.post(f"/api/v1/jobs/{job['id']}/resume")
    return await waiter - started


async def cancel_once(api: httpx.AsyncClient, base: str) -> float:
    beat_id = uuid.uuid4().hex
    steps = [{"action": {"type": "wait", "duration": 30000}}]
    job = (
        await api.post(
            "/api/v1/jobs", json={"runbook": runbook(base, steps, f"{base}/beating?key={beat_id}")}
        )
    ).json()
    await until(api, job["id"], '"ordinal":0&"status":"running"')
    await asyncio.sleep(0.3)
    started = time.time()
    await api.post(f"/api/v1/jobs/{job['id']}/cancel")
    await asyncio.sleep(1.5)
    async with httpx.AsyncClient() as fixture:
        last = (await fixture.get(f"{base}/last-beat", params={"key": beat_id})).json()["last"]
    return max(0.0, (last or started) - started)


def run(stack: Stack, base: str) -> str:
    async def measure() -> dict[str, list[float]]:
        headers = {"Authorization": f"Bearer {stack.token}"}
        out: dict[str, list[float]] = {"approve": [], "resume": [], "cancel": []}
        async with httpx.AsyncClient(
            base_url=stack.gateway_url, headers=headers, timeout=120
        ) as api:
            for _ in range(ROUNDS):
                out["approve"].append(await approve_once(api, base))
                out["resume"].append(await resume_once(api, base))
                out["cancel"].append(await cancel_once(api, base))
        return out

    results = asyncio.run(measure())
    baseline = asyncio.run(nats_round_trips(stack.nats.url, 1000))
    rows = [
        (
            f"{name} → effect in the browser",
            str(len(v)),
            f"{percentile(v, 50) * 1000:.1f}",
            f"{percentile(v, 99) * 1000:.1f}",
        )
        for name, v in results.items()
    ]
    rows.append(
        (
            "raw NATS request/reply",
            "1000",
            f"{percentile(baseline, 50) * 1000:.2f}",
            f"{percentile(baseline, 99) * 1000:.2f}",
        )
    )
    return table(
        "Decision to effect (ms; cancel: until the page's last beat)",
        rows,
        ("measure", "n", "p50", "p99"),
    )
