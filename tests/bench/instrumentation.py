"""The cost of metrics and tracing: the same work on stacks with instrumentation on and off.

The stacks run side by side for the whole benchmark and the measurements alternate between them
(one job on each in turn, in a shuffled order each round), so whatever else the machine does falls
on all alike:

- a 20-step runbook against the fixture app, submit → terminal status (the engine benchmark's
  steps), one job at a time;
- a submission alone (a job scheduled for tomorrow, so acceptance is measured without running),
  back to back (the previous submission's after-work, its outbox relay, consumers and span
  export, still runs on the two cores while the next is timed: tracing's CPU shows as latency)
  and one at a time (the machine left alone 0.1 s before each: the latency of a submission on a
  quiet system, which moves more between two identical stacks);
- submit → ``running`` on the job's SSE stream.

"On" is what an operator runs: every service exports spans over OTLP/HTTP with the SDK's default
batching (to a sink on loopback that reads and drops them, over kept-alive connections) and a
scraper reads every service's ``/metrics`` every 5 seconds (three times as often as Prometheus's
default). Beside it: the same with one trace in ten kept (the SDK's standard ratio sampler),
metrics alone, and "off" (``RUNWRIGHT_METRICS=0`` and the standard ``OTEL_SDK_DISABLED=true``)
twice: two identical stacks, whose ratio is this run's noise (two stacks set up alike measured
up to 3.5 % apart here). All five start after a first stack that is not measured (``FIRST``).
The figures are each median ÷ off's (target ≤ 1.03). The CPU each stack spent per submission was
tried as a steadier figure and dropped: two identical stacks differed by up to 12 %.

Beside the stacks, in the same shuffled rounds of back-to-back submissions: the floor
(``span_floor``), the same two spans and their context made by the SDK's own calls in a bare
Litestar app and NATS responder, traced and not. What tracing adds there, in milliseconds, is
what the SDK costs on this machine before any of Runwright's code; the second table sets it beside
what tracing adds to a Runwright submission ("on" less "metrics only", the stack that differs
from it by tracing alone).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from runwright_stack.nats_server import NatsServer
from runwright_stack.ports import free_port, wait_for_port
from runwright_stack.stack import Stack, StackConfig

from tests.bench.engine_overhead import steps
from tests.bench.stats import summary_ms, table
from tests.support.stack import new_data_dir

ROUNDS = 12
SUBMITS = 600
QUIET_SUBMITS = 300
QUIET_S = 0.1
"""Before each of these submissions the machine is left alone this long, so that the previous
one's after-work (the outbox relay, every consumer of its event, the span export) has ended."""
RUNNING = 60
SCRAPE_EVERY_S = 5.0
SIDES = ("on", "sampled", "metrics", "off", "off again")
"""Metrics and every trace; metrics and one trace in ten (the SDK's standard ratio sampler, decided
at the root, so a job's trace is kept whole or not at all); metrics alone; both off; and a second
stack with both off, the same as the first: how far apart two identical stacks measure in this
run is the noise a ratio has to be read against."""
FIRST = "first, not measured"
"""A stack started before the measured ones and left idle. Here the first stack started measures
2.5 to 4.5 % slower than identical ones started after it: six runs of three or four "off" stacks;
with the start order reversed the penalty moved with it; each of its processes, PostgreSQL too,
spent 2 to 4 % more CPU per submission. "On" was that stack, so the penalty fell on it."""
FLOOR = ("floor on", "floor off")
"""The bare app and responder of ``span_floor``, traced (exported to the same sink) and not."""
OFF = {"RUNWRIGHT_METRICS": "0", "OTEL_SDK_DISABLED": "true"}
SAMPLED = {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0.1"}

TINY = {
    "title": "bench: one tiny step",
    "settings": {"defaultTimeout": 5000, "pauseBetweenSteps": 0, "stopOnError": True},
    "metadata": {"startUrl": "about:blank", "goal": "bench", "goalAchieved": True},
    "steps": [{"ordinal": 0, "description": "wait", "action": {"type": "wait", "duration": 1}}],
}


def twenty_steps(base: str) -> dict[str, Any]:
    return {
        "title": "bench: twenty steps",
        "settings": {"baseUrl": base, "defaultTimeout": 10000, "pauseBetweenSteps": 0},
        "metadata": {"startUrl": f"{base}/selectors", "goal": "bench", "goalAchieved": True},
        "steps": steps(),
    }


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that reads each export and drops it (a collector's cheapest peer),
    keeping the connection open as a collector does."""

    protocol_version = "HTTP/1.1"
    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        type(self).received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@contextlib.contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def metrics_urls(stack: Stack) -> list[str]:
    return list(stack.metrics_urls.values())


@contextlib.contextmanager
def scraper(urls: list[str]) -> Iterator[dict[str, int]]:
    """Reads every ``/metrics`` every few seconds, as Prometheus would, until the block ends."""
    seen = {"scrapes": 0, "failures": 0}
    stop = threading.Event()

    def loop() -> None:
        with httpx.Client(timeout=5) as client:
            while not stop.wait(SCRAPE_EVERY_S):
                for url in urls:
                    try:
                        client.get(url).raise_for_status()
                        seen["scrapes"] += 1
                    except httpx.HTTPError:
                        seen["failures"] += 1

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(10)


@contextlib.contextmanager
def floor(sink: str) -> Iterator[dict[str, str]]:
    """The floor's two pairs of processes (and a nats-server of their own): the URL each pair's
    HTTP side answers on."""
    data = new_data_dir()
    server = NatsServer(data, data / "logs")
    server.start()
    procs: list[subprocess.Popen[bytes]] = []
    urls = {}
    tracing = {"on": {"OTEL_EXPORTER_OTLP_ENDPOINT": sink}, "off": {"OTEL_SDK_DISABLED": "true"}}
    try:
        for name, env in tracing.items():
            port, subject = free_port(), f"floor.submit.{name}"
            for role in (
                ["answer", server.address, subject],
                ["http", str(port), server.address, subject],
            ):
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "tests.bench.span_floor", *role],
                        env={**os.environ, **env},
                    )
                )
            wait_for_port(port, 30)
            urls[f"floor {name}"] = f"http://127.0.0.1:{port}"
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
        server.stop()
        shutil.rmtree(data, ignore_errors=True)


def _stack(env: dict[str, str]) -> Stack:
    return Stack(
        StackConfig(
            data_dir=new_data_dir(),
            gateway_port=free_port(),
            admin_token="bench",
            durable=True,
            executors=1,
            executor_slots=2,
            env={
                "RUNWRIGHT_EGRESS_ALLOW": "127.0.0.1",
                "RUNWRIGHT_SUBMIT_RATE_WORKSPACE": "1000000",
                "RUNWRIGHT_SUBMIT_RATE_CALLER": "1000000",
                **env,
            },
        )
    )


async def _until_ended(api: httpx.AsyncClient, job_id: str, *, running: bool = False) -> float:
    """Follow the job's SSE stream until it ends (or, with ``running``, until it runs)."""
    async with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
        async for line in events.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = json.loads(line[5:])
            if data["type"] != "status":
                continue
            if running and data["status"] == "running":
                return time.perf_counter()
            if data["status"] in ("completed", "failed", "cancelled"):
                if data["status"] != "completed":
                    raise RuntimeError(f"bench job {job_id} ended {data['status']}")
                return time.perf_counter()
    raise RuntimeError(f"the stream of {job_id} ended early")


async def _one_job(api: httpx.AsyncClient, runbook: dict[str, Any], *, running: bool) -> float:
    started = time.perf_counter()
    response = await api.post("/api/v1/jobs", json={"runbook": runbook})
    response.raise_for_status()
    return await _until_ended(api, response.json()["id"], running=running) - started


async def _submission(api: httpx.AsyncClient, run_at: str) -> float:
    """Seconds until a job scheduled for ``run_at`` is accepted (201)."""
    sent = time.perf_counter()
    response = await api.post("/api/v1/jobs", json={"runbook": TINY, "run_at": run_at})
    response.raise_for_status()
    return time.perf_counter() - sent


async def _floor_submission(client: httpx.AsyncClient) -> float:
    sent = time.perf_counter()
    response = await client.post("/submit", json={"runbook": TINY})
    response.raise_for_status()
    return time.perf_counter() - sent


def _order(index: int, sides: tuple[str, ...] = SIDES) -> list[str]:
    """Each round runs the sides in its own order (shuffled, seeded by the round): no side always
    goes first, and none always follows the same other side. A fixed rotation kept the cyclic
    order, so each side always came right after the same one, whose after-work (its relay, its
    consumers, its spans) fell on it: "1 in 10" always followed "on"."""
    sides = list(sides)
    random.Random(index).shuffle(sides)  # noqa: S311 (an order, not a secret)
    return sides


async def _measure(
    stacks: dict[str, Stack], floors: dict[str, str], base: str
) -> dict[str, dict[str, list[float]]]:
    figures: dict[str, dict[str, list[float]]] = {
        side: {"twenty": [], "submit": [], "quiet": [], "running": []} for side in SIDES + FLOOR
    }
    apis = {
        side: httpx.AsyncClient(
            base_url=stack.gateway_url,
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=120,
        )
        for side, stack in stacks.items()
    }
    apis.update(
        {side: httpx.AsyncClient(base_url=url, timeout=120) for side, url in floors.items()}
    )
    runbook = twenty_steps(base)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    try:
        for side in SIDES:  # warm every stack: browsers, pools, caches
            await _one_job(apis[side], runbook, running=False)
        for index in range(ROUNDS):
            for side in _order(index):
                figures[side]["twenty"].append(await _one_job(apis[side], runbook, running=False))
        print(f"  … {ROUNDS} twenty-step jobs on each", flush=True)
        for side in FLOOR:  # warm the floor's connections and code
            for _ in range(20):
                await _floor_submission(apis[side])
        for index in range(SUBMITS):
            for side in _order(index, SIDES + FLOOR):
                if side in FLOOR:
                    figures[side]["submit"].append(await _floor_submission(apis[side]))
                else:
                    figures[side]["submit"].append(await _submission(apis[side], tomorrow))
        print(f"  … {SUBMITS} submissions on each, back to back", flush=True)
        for index in range(QUIET_SUBMITS):
            for side in _order(index):
                await asyncio.sleep(QUIET_S)
                figures[side]["quiet"].append(await _submission(apis[side], tomorrow))
        print(f"  … {QUIET_SUBMITS} submissions on each, one at a time", flush=True)
        for index in range(RUNNING):
            for side in _order(index):
                figures[side]["running"].append(await _one_job(apis[side], TINY, running=True))
                await asyncio.sleep(0.05)
        print(f"  … {RUNNING} submit → running on each", flush=True)
    finally:
        for api in apis.values():
            await api.aclose()
    return figures


def run_with(base: str) -> str:
    with otlp_sink() as sink, floor(sink) as floors:
        exporting = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink}  # the SDK's own batching
        stacks = {
            FIRST: _stack(OFF),
            "on": _stack(exporting),
            "sampled": _stack({**exporting, **SAMPLED}),
            "metrics": _stack({"OTEL_SDK_DISABLED": "true"}),
            "off": _stack(OFF),
            "off again": _stack(OFF),
        }
        try:
            for name, stack in stacks.items():
                started = time.monotonic()
                stack.start()
                print(f"  ✓ {name} stack ready in {time.monotonic() - started:.1f} s", flush=True)
            urls = [u for side in ("on", "sampled", "metrics") for u in metrics_urls(stacks[side])]
            measured = {side: stacks[side] for side in SIDES}
            with scraper(urls) as scraped:
                figures = asyncio.run(_measure(measured, floors, base))
        finally:
            for stack in stacks.values():
                stack.stop()
                shutil.rmtree(stack.data_dir, ignore_errors=True)
        exports = _Sink.received
    rows = []
    labels = {
        "twenty": "20-step runbook, submit → completed",
        "submit": "submit (accepted, not run), back to back",
        "quiet": "submit (accepted, not run), one at a time",
        "running": "submit → running on SSE",
    }
    for key, label in labels.items():
        got = {side: summary_ms(figures[side][key]) for side in SIDES}
        bare = got["off"]["p50"]
        rows.append(
            (
                f"{label}, p50 / p95 (ms)",
                *(f"{got[side]['p50']:.1f} / {got[side]['p95']:.1f}" for side in SIDES),
                *(f"{got[side]['p50'] / bare:.3f}x" for side in SIDES if side != "off"),
                f"{len(figures['on'][key])} each",
            )
        )
    return _costs(figures, rows, scraped, exports) + "\n\n" + _floor_table(figures)


def _floor_table(figures: dict[str, dict[str, list[float]]]) -> str:
    """What tracing adds to a submission, in milliseconds, beside what the same two spans add in
    the bare app and responder (p50 and mean, back to back)."""
    got = {side: summary_ms(figures[side]["submit"]) for side in (*SIDES, *FLOOR)}
    rows = [
        (
            'Runwright: submit, every trace ("on" less "metrics only")',
            f"{got['on']['p50']:.2f} / {got['on']['mean']:.2f}",
            f"{got['metrics']['p50']:.2f} / {got['metrics']['mean']:.2f}",
            f"{got['on']['p50'] - got['metrics']['p50']:+.2f} / "
            f"{got['on']['mean'] - got['metrics']['mean']:+.2f}",
        ),
        (
            "floor: the same two spans in a bare app and responder",
            f"{got['floor on']['p50']:.2f} / {got['floor on']['mean']:.2f}",
            f"{got['floor off']['p50']:.2f} / {got['floor off']['mean']:.2f}",
            f"{got['floor on']['p50'] - got['floor off']['p50']:+.2f} / "
            f"{got['floor on']['mean'] - got['floor off']['mean']:+.2f}",
        ),
    ]
    return table(
        "What tracing adds to a submission (ms), beside its floor: two SDK spans and their context,"
        " same run",
        rows,
        ("back to back, p50 / mean (ms)", "traced", "not traced", "tracing adds"),
    )


def _costs(
    figures: dict[str, dict[str, list[float]]],
    rows: list[tuple[str, ...]],
    scraped: dict[str, int],
    exports: int,
) -> str:
    return table(
        "Instrumentation cost: metrics and tracing on ÷ off, same run "
        f"(scrapes {scraped['scrapes']}, failed {scraped['failures']}; OTLP exports {exports})",
        rows,
        (
            "measure",
            "on",
            "on, 1 trace in 10",
            "metrics only",
            "off (baseline)",
            "off again",
            "on ÷ off (target ≤ 1.03)",
            "1 in 10 ÷ off",
            "metrics only ÷ off",
            "off again ÷ off (noise)",
            "samples",
        ),
    )
