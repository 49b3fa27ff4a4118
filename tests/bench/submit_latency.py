"""Submit latency and bursts: what a caller waits for, beside a peer queue in the same run.

- submit -> ``running`` on the job's SSE stream, and submit -> its first step starts (the step
  event's own time, stamped by the executor), one job at a time on idle slots;
- a burst of 2,000 submissions from 8 keep-alive clients: accepted per second (every 201 is a
  committed job, scheduled for tomorrow so acceptance is measured alone), submit p50/p99, any 5xx;
- 400 one-step jobs submitted the same way and run: jobs ended per second from the first submit.

Baselines, same run, same machine: Celery 5.5 with Redis (``celery_baseline``), with the
append-only file synced on every write and without, with as many worker processes as the stack has
slots: apply_async -> the task's body starts, and the same burst of apply_async from 8 threads; a
plain Playwright loop running as many one-step jobs with as many contexts as the stack has slots;
a raw NATS request/reply round trip (the floor under any NATS hand-off).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import nats
from playwright.async_api import async_playwright
from runwright_engine.browser import launch
from runwright_stack.stack import Stack

from tests.bench import celery_baseline
from tests.bench.stats import summary_ms, table

BURST = 2000
DRAIN = 400
"""One-step jobs run through the stack (and through the plain Playwright loop) for throughput."""
CLIENTS = 8

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
    async def report(error: Exception) -> None:
        print(f"  ! NATS: {error!r}", flush=True)

    server = await nats.connect(url, error_cb=report)
    client = await nats.connect(url, error_cb=report)

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


async def burst(
    stack: Stack, count: int, clients: int, *, drain: bool = True, run_at: str | None = None
) -> dict[str, object]:
    """``count`` submissions from ``clients`` keep-alive connections at once; then, with
    ``drain``, until every one of those jobs has ended. With ``run_at`` the jobs are scheduled
    for then (recorded and durable, but not run now)."""
    headers = {"Authorization": f"Bearer {stack.token}"}
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    apis = [
        httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=120, limits=limits)
        for _ in range(clients)
    ]
    before = (await apis[0].get("/api/v1/jobs/counts")).json()
    ended_before = sum(before["by_status"].get(s, 0) for s in ("completed", "failed", "cancelled"))
    calls: list[float] = []
    codes: Counter[int] = Counter()

    async def client(api: httpx.AsyncClient, n: int) -> None:
        for _ in range(n):
            sent = time.perf_counter()
            response = await api.post("/api/v1/jobs", json=body)
            calls.append(time.perf_counter() - sent)
            codes[response.status_code] += 1

    body: dict[str, object] = {"runbook": RUNBOOK}
    if run_at is not None:
        body["run_at"] = run_at
    shares = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    started = time.perf_counter()
    await asyncio.gather(*(client(api, n) for api, n in zip(apis, shares, strict=True)))
    accepted_s = time.perf_counter() - started
    deadline = time.monotonic() + (900 if drain else 0)
    ran = 0
    while time.monotonic() < deadline:
        counts = (await apis[0].get("/api/v1/jobs/counts")).json()["by_status"]
        ended = sum(counts.get(s, 0) for s in ("completed", "failed", "cancelled"))
        ran = ended - ended_before
        if ran >= codes[201]:
            break
        await asyncio.sleep(0.25)
    drained_s = time.perf_counter() - started
    for api in apis:
        await api.aclose()
    return {
        "accepted_s": accepted_s,
        "calls": calls,
        "codes": dict(codes),
        "drained_s": drained_s,
        "ran": ran,
    }


async def plain_one_step(count: int, contexts: int) -> float:
    """Seconds for a plain Playwright loop to run ``count`` one-step jobs (a fresh context and
    page each, the same one-millisecond wait) with ``contexts`` at once."""
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        left = list(range(count))

        async def worker() -> None:
            while left:
                left.pop()
                context = await browser.new_context(viewport={"width": 1280, "height": 720})
                try:
                    page = await context.new_page()
                    await page.wait_for_timeout(1)
                finally:
                    await context.close()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(contexts)))
        elapsed = time.perf_counter() - started
        await browser.close()
        return elapsed


def _ms(value: float) -> str:
    return f"{value:.2f}"


def _ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "-"


def run(stack: Stack, jobs: int = 200) -> str:
    slots = stack.config.executor_count * stack.config.executor_slots
    baseline = summary_ms(asyncio.run(nats_round_trips(stack.nats.url, 1000)))
    running, first_steps = asyncio.run(submit_to_running(stack, jobs))
    ours = summary_ms(running)
    first = summary_ms(first_steps)
    print(f"  … burst of {BURST} from {CLIENTS} clients", flush=True)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    ours_burst = asyncio.run(burst(stack, BURST, CLIENTS, drain=False, run_at=tomorrow))
    print(f"  … {DRAIN} one-step jobs run", flush=True)
    ours_run = asyncio.run(burst(stack, DRAIN, CLIENTS))
    print("  … plain Playwright, one-step jobs", flush=True)
    plain_s = asyncio.run(plain_one_step(DRAIN, slots))
    peers: dict[str, dict[str, object]] = {}
    for fsync_always, name in ((True, "fsync always"), (False, "no fsync")):
        print(f"  … Celery with Redis, {name}", flush=True)
        with celery_baseline.celery(fsync_always) as peer:
            latency = peer.ask("latency", jobs)
            drain = peer.ask("drain", BURST, CLIENTS)
            peers[name] = {"latency": latency["samples"], **drain}
    durable = peers["fsync always"]
    celery_start = summary_ms(durable["latency"])  # type: ignore[arg-type]
    loose_start = summary_ms(peers["no fsync"]["latency"])  # type: ignore[arg-type]
    ours_rate = BURST / float(ours_burst["accepted_s"])  # type: ignore[arg-type]
    celery_rate = BURST / float(durable["accepted_s"])  # type: ignore[arg-type]
    loose_rate = BURST / float(peers["no fsync"]["accepted_s"])  # type: ignore[arg-type]
    ours_calls = summary_ms(ours_burst["calls"])  # type: ignore[arg-type]
    celery_calls = summary_ms(durable["calls"])  # type: ignore[arg-type]
    codes: dict[int, int] = ours_burst["codes"]  # type: ignore[assignment]
    errors = sum(n for code, n in codes.items() if code >= 500)
    ours_drain = float(ours_run["ran"]) / float(ours_run["drained_s"])  # type: ignore[arg-type]
    plain_drain = DRAIN / plain_s
    rows = [
        (
            "submit → running on SSE, p50 / p99 (ms)",
            f"{_ms(ours['p50'])} / {_ms(ours['p99'])}",
            f"{_ms(celery_start['p50'])} / {_ms(celery_start['p99'])}",
            f"{_ratio(ours['p50'], celery_start['p50'])} / "
            f"{_ratio(ours['p99'], celery_start['p99'])}",
            "Celery apply_async → task starts, fsync always "
            f"(no fsync: {_ms(loose_start['p50'])} / {_ms(loose_start['p99'])})",
        ),
        (
            "submit → first step starts, p50 / p99 (ms)",
            f"{_ms(first['p50'])} / {_ms(first['p99'])}",
            "",
            "",
            f"{len(first_steps)} jobs, idle slots",
        ),
        (
            f"burst of {BURST} from {CLIENTS} clients, accepted /s",
            f"{ours_rate:.0f}",
            f"{celery_rate:.0f}",
            _ratio(ours_rate, celery_rate),
            f"Celery enqueue, fsync always (no fsync: {loose_rate:.0f} /s); ours: "
            f"{codes.get(201, 0)} x 201, {errors} x 5xx, "
            + ", ".join(f"{n} x {c}" for c, n in sorted(codes.items()) if c not in (201,)),
        ),
        (
            "burst, submit p50 / p99 (ms)",
            f"{_ms(ours_calls['p50'])} / {_ms(ours_calls['p99'])}",
            f"{_ms(celery_calls['p50'])} / {_ms(celery_calls['p99'])}",
            f"{_ratio(ours_calls['p50'], celery_calls['p50'])}",
            "one HTTP submit / one apply_async",
        ),
        (
            f"one-step jobs run, per second ({slots} slots)",
            f"{ours_drain:.1f}",
            f"{plain_drain:.1f}",
            _ratio(ours_drain, plain_drain),
            f"plain Playwright, {slots} contexts, fresh context per job; ours: "
            f"{ours_run['ran']} ended in {float(ours_run['drained_s']):.1f} s "  # type: ignore[arg-type]
            "from the burst's start",
        ),
        (
            "raw NATS request/reply, p50 / p99 (ms)",
            f"{baseline['p50']:.3f} / {baseline['p99']:.3f}",
            "",
            "",
            "the floor under any NATS hand-off",
        ),
    ]
    return table(
        "Submit and burst: Runwright beside its same-run baseline",
        rows,
        ("measure", "Runwright", "baseline", "ratio", "baseline is"),
    )
