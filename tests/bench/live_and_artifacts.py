"""Live view and artifact storage figures.

- Live view: frame captured in the executor until it reaches an SSE client, p50/p95, and frames
  per second per job, for 1 and 10 watched jobs; baseline: a raw NATS publish/subscribe of a
  frame-sized payload on the same server.
- A 50 MB download stored end to end (the step starts → the `artifact` event arrives), beside a
  direct write of the same bytes to the same backend.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import nats
from runwright_cli.stack import Stack
from runwright_storage import FilesystemStore

from tests.bench.stats import percentile, table

WATCH_MS = 8000


def runbook(base: str, steps: list[dict[str, object]]) -> dict[str, object]:
    return {
        "title": "bench",
        "settings": {"baseUrl": base, "defaultTimeout": 120000, "pauseBetweenSteps": 0},
        "metadata": {
            "startUrl": f"{base}/mutating",
            "goal": "bench",
            "goalAchieved": True,
            "totalSteps": len(steps),
            "generatedAt": "2026-01-01T00:00:00Z",
        },
        "steps": [{"ordinal": i, "description": f"s{i}", "action": a} for i, a in enumerate(steps)],
    }


async def watch(api: httpx.AsyncClient, job_id: str) -> tuple[list[float], float]:
    latencies, stamps = [], []
    async with api.stream("GET", f"/api/v1/jobs/{job_id}/events?live=1") as response:
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "screenshot":
                now = time.time()
                frame = json.loads(line[5:])
                latencies.append(now - frame["captured_at"])
                stamps.append(now)
            elif line.startswith("data:") and '"status":"completed"' in line:
                break
    fps = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else 0.0
    return latencies, fps


async def live_view(stack: Stack, base: str, jobs: int) -> tuple[list[float], list[float]]:
    headers = {"Authorization": f"Bearer {stack.token}"}
    limits = httpx.Limits(max_connections=jobs + 10)
    async with httpx.AsyncClient(
        base_url=stack.gateway_url, headers=headers, timeout=120, limits=limits
    ) as api:
        body = {"runbook": runbook(base, [{"type": "wait", "duration": WATCH_MS}])}
        ids = [(await api.post("/api/v1/jobs", json=body)).json()["id"] for _ in range(jobs)]
        results = await asyncio.gather(*(watch(api, job_id) for job_id in ids))
    latencies = [lat for lats, _ in results for lat in lats]
    return latencies, [fps for _, fps in results]


async def nats_pubsub(url: str, count: int = 500) -> list[float]:
    sender, receiver = await nats.connect(url), await nats.connect(url)
    payload = os.urandom(16_000)
    got: asyncio.Queue[float] = asyncio.Queue()

    async def on(msg: nats.aio.msg.Msg) -> None:
        got.put_nowait(time.time() - float(msg.headers["t"]))  # type: ignore[index]

    await receiver.subscribe("bench.frames", cb=on)
    await receiver.flush()
    samples = []
    for _ in range(count):
        await sender.publish("bench.frames", payload, headers={"t": repr(time.time())})
        samples.append(await got.get())
    await sender.close()
    await receiver.close()
    return samples


async def big_download(stack: Stack, base: str) -> float:
    headers = {"Authorization": f"Bearer {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=300) as api:
        body = {
            "runbook": runbook(
                base,
                [
                    {"type": "navigate", "url": "/downloads"},
                    {"type": "download", "selector": {"id": "big-link"}},
                ],
            )
        }
        body["runbook"]["steps"][1]["action"]["selector"] = {"id": "big-link"}  # type: ignore[index]
        job_id = (await api.post("/api/v1/jobs", json=body)).json()["id"]
        started = stored = 0.0
        async with api.stream("GET", f"/api/v1/jobs/{job_id}/events?live=1") as response:
            async for line in response.aiter_lines():
                if (
                    line.startswith("data:")
                    and '"ordinal":1' in line
                    and '"status":"running"' in line
                ):
                    started = time.time()
                if line.startswith("data:") and '"type":"artifact"' in line:
                    stored = time.time()
                    break
        return stored - started


async def direct_write(size: int) -> float:
    data = os.urandom(1 << 20)
    with tempfile.TemporaryDirectory() as root:
        store = FilesystemStore(Path(root))

        async def chunks() -> object:
            for _ in range(size // len(data)):
                yield data

        started = time.time()
        await store.put("bench/big", chunks(), content_type="application/octet-stream")  # type: ignore[arg-type]
        return time.time() - started


def run(stack: Stack, base: str) -> str:
    baseline = asyncio.run(nats_pubsub(stack.nats.url))
    rows = [
        (
            "raw NATS pub/sub, 16 KB",
            "",
            f"{percentile(baseline, 50) * 1000:.2f}",
            f"{percentile(baseline, 95) * 1000:.2f}",
            "",
        )
    ]
    for jobs in (1, 10):
        latencies, fps = asyncio.run(live_view(stack, base, jobs))
        rows.append(
            (
                f"live view, {jobs} watched job(s)",
                str(len(latencies)),
                f"{percentile(latencies, 50) * 1000:.1f}",
                f"{percentile(latencies, 95) * 1000:.1f}",
                f"{statistics.fmean(fps):.2f}",
            )
        )
    live = table(
        "Live view: capture in the executor → SSE client (ms); frames/s per job (cap 5)",
        rows,
        ("measure", "frames", "p50", "p95", "fps/job"),
    )
    ours = asyncio.run(big_download(stack, base))
    direct = asyncio.run(direct_write(50 << 20))
    store_rows = [
        ("download step → artifact event", f"{ours * 1000:.0f}"),
        ("direct write to the store", f"{direct * 1000:.0f}"),
        ("ratio", f"{ours / direct:.1f}x"),
    ]
    return (
        live
        + "\n\n"
        + table(
            "Storing a 50 MB download end to end (ms, filesystem store)",
            store_rows,
            ("measure", "ms"),
        )
    )
