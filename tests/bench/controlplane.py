"""The control plane under load: simulated executors on a real stack.

A real stack (nats-server, PostgreSQL, gateway, queue, scheduler, approval, artifact) runs with no
real executor; simulated executor processes (``tests.support.sim_executor``) speak the executor's
protocol over the real NATS — pull dispatch, claim, renew leases, report every step on the ordered
report path, finish — with each step a modelled wait instead of a browser. SSE followers read the
gateway as people do: one workspace stream and a job stream for every tenth job (20 at most open).

Phase 1, throughput: jobs of 3 steps x 200 ms offered at increasing rates through the gateway's
API; per level, the status transitions the queue committed per second (from ``queue.job_events``),
jobs finished per second, the queue depth left, claim latency (request -> reply, at the executor),
event latency (the executor sent the step's report -> the step event arrived on SSE), and the CPU
of every part (its process tree, from /proc, in cores).

Phase 2, concurrency: jobs of one long step submitted in blocks until 10,000 run at once (or the
stack stops keeping up), at the executor's shipped lease (6 s, renewed every 1.5 s): per block,
once claimed, a steady window of a lease and two seconds in which the stack only holds the jobs:
renewal requests and leases renewed per second, their latency, jobs the queue declared lost, and
the CPU each part spent (per renewal request, per lease renewed, per 1,000 running jobs). It runs
once per renewal protocol, each on a stack of its own: per-job renewal (the previous release's,
the baseline) and the executor's batched renewal (one request per executor and period).

Options, from the environment: ``BENCH_CONTROLPLANE_PHASES=concurrency`` (that phase alone),
``BENCH_CONTROLPLANE_RENEWALS=batch`` (no baseline), ``BENCH_HOLD_TARGET``, ``BENCH_HOLD_BLOCK``,
``BENCH_HOLD_BUDGET_S``, ``BENCH_SIM_PROCESSES``.

Baselines in the same run on the same nats-server: a raw JetStream work-queue stream, N messages
published and pulled/acked by as many consumers as there are simulated executors (the floor for
dispatch), and a raw NATS request/reply round trip (the floor for a claim).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import httpx
import nats
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js.api import RetentionPolicy, StreamConfig
from runwright_proto import streams
from runwright_stack.ports import free_port
from runwright_stack.stack import StackConfig

from tests.bench.stats import percentile, table
from tests.support.proc_cpu import CpuMeter, machine_busy
from tests.support.sim_fleet import FleetConfig, SimulatedStack
from tests.support.stack import new_data_dir

SERVICES = ("gateway", "queue", "scheduler", "approval", "artifact")
PHASES = ("throughput", "concurrency")


@dataclass
class Plan:
    rates: tuple[float, ...] = (5, 10, 20, 40, 80)
    """Jobs offered per second, one level each."""
    level_s: float = 30.0
    steps: int = 3
    step_ms: int = 200
    hold_target: int = 10_000
    hold_block: int = 1_000
    baseline_block: int = 250
    """Blocks of the baselines' concurrency phase (per-job renewal breaks within the first
    thousand at the shipped lease)."""
    hold_step_s: int = 3_600
    hold_budget_s: float = 600.0
    job_streams: int = 20
    baseline_messages: int = 20_000
    fleet: FleetConfig = field(
        default_factory=lambda: FleetConfig(processes=2, slots=5_000, jitter_ms=50.0)
    )
    phases: tuple[str, ...] = PHASES
    renewals: tuple[str, ...] = ("per_job", "batch")
    """Renewal protocols the concurrency phase runs, each on a stack of its own: the last is
    the executor's (and the throughput phase's), those before it baselines."""

    @classmethod
    def from_env(cls) -> Plan:
        """``make bench BENCH_ARGS=controlplane`` with, in the environment,
        ``BENCH_CONTROLPLANE_PHASES=concurrency`` (only that phase),
        ``BENCH_CONTROLPLANE_RENEWALS=batch`` (no per-job baseline), ``BENCH_HOLD_TARGET``,
        ``BENCH_HOLD_BLOCK``, ``BENCH_HOLD_BUDGET_S``, ``BENCH_SIM_PROCESSES``."""
        env = os.environ
        plan = cls()
        if phases := env.get("BENCH_CONTROLPLANE_PHASES"):
            plan.phases = tuple(p.strip() for p in phases.split(",") if p.strip())
            if unknown := set(plan.phases) - set(PHASES):
                raise SystemExit(f"BENCH_CONTROLPLANE_PHASES: unknown phase {sorted(unknown)}")
        if renewals := env.get("BENCH_CONTROLPLANE_RENEWALS"):
            plan.renewals = tuple(r.strip() for r in renewals.split(",") if r.strip())
            if unknown := set(plan.renewals) - {"per_job", "batch"}:
                raise SystemExit(f"BENCH_CONTROLPLANE_RENEWALS: unknown {sorted(unknown)}")
        plan.hold_target = int(env.get("BENCH_HOLD_TARGET", plan.hold_target))
        plan.hold_block = int(env.get("BENCH_HOLD_BLOCK", plan.hold_block))
        plan.hold_budget_s = float(env.get("BENCH_HOLD_BUDGET_S", plan.hold_budget_s))
        plan.fleet.processes = int(env.get("BENCH_SIM_PROCESSES", plan.fleet.processes))
        return plan


def runbook(steps: int, step_ms: int) -> dict[str, Any]:
    """A runbook of ``steps`` waits: the simulated executor takes each wait's duration."""
    return {
        "title": "control-plane load",
        "settings": {"defaultTimeout": 5000, "pauseBetweenSteps": 0},
        "metadata": {
            "startUrl": "about:blank",
            "goal": "load",
            "goalAchieved": True,
            "totalSteps": steps,
            "generatedAt": "2026-01-01T00:00:00Z",
        },
        "steps": [
            {
                "ordinal": i,
                "description": f"wait {i}",
                "action": {"type": "wait", "duration": step_ms},
            }
            for i in range(steps)
        ],
    }


def simulated_stack(plan: Plan) -> SimulatedStack:
    return SimulatedStack(
        StackConfig(
            data_dir=new_data_dir(),
            gateway_port=free_port(),
            admin_token="bench",
            durable=True,
            env={
                "RUNWRIGHT_SUBMIT_RATE_WORKSPACE": "1000000",
                "RUNWRIGHT_SUBMIT_RATE_CALLER": "1000000",
                "RUNWRIGHT_WORKSPACE_CONCURRENCY": "1000000",
                "RUNWRIGHT_MAX_QUEUED": "1000000",
                "RUNWRIGHT_LOG_LEVEL": "warning",
            },
        ),
        plan.fleet,
    )


# --- baselines -------------------------------------------------------------------------------


async def raw_dispatch(url: str, messages: int, consumers: int) -> float:
    """Messages per second through a work-queue stream: published, then pulled and acked by
    ``consumers`` pull consumers sharing one durable (as executors share ``executors``)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    name = "BENCH_DISPATCH"
    with contextlib.suppress(Exception):
        await js.delete_stream(name)
    await js.add_stream(
        StreamConfig(name=name, subjects=["bench.dispatch"], retention=RetentionPolicy.WORK_QUEUE)
    )
    payload = json.dumps({"type": "job.dispatch", "job_id": "0" * 36, "priority": 0}).encode()
    acks = [js.publish("bench.dispatch", payload) for _ in range(messages)]
    for start in range(0, messages, 500):
        await asyncio.gather(*acks[start : start + 500])
    pulled = 0
    done = asyncio.Event()
    clients = [await nats.connect(url) for _ in range(consumers)]

    async def consume(client: Nats) -> None:
        nonlocal pulled
        sub = await client.jetstream().pull_subscribe("bench.dispatch", "workers", stream=name)
        while not done.is_set():
            try:
                msgs = await sub.fetch(64, timeout=1)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in msgs:
                await msg.ack()
            pulled += len(msgs)
            if pulled >= messages:
                done.set()

    started = time.perf_counter()
    tasks = [asyncio.create_task(consume(c)) for c in clients]
    await asyncio.wait_for(done.wait(), 300)
    elapsed = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.close()
    await js.delete_stream(name)
    await nc.close()
    return messages / elapsed


async def raw_request_reply(url: str, count: int) -> list[float]:
    server, client = await nats.connect(url), await nats.connect(url)

    async def echo(msg: Msg) -> None:
        await msg.respond(msg.data)

    await server.subscribe("bench.claim", cb=echo)
    await server.flush()
    samples = []
    payload = b'{"type":"job.claim","job_id":"' + b"0" * 36 + b'","executor_id":"x","lease_ms":1}'
    for _ in range(count):
        started = time.perf_counter()
        await client.request("bench.claim", payload, timeout=5)
        samples.append(time.perf_counter() - started)
    await client.close()
    await server.close()
    return samples


# --- load ------------------------------------------------------------------------------------


class Followers:
    """SSE clients: the workspace stream, and job streams opened for every tenth job."""

    def __init__(self, stack: SimulatedStack, job_streams: int) -> None:
        self.stack = stack
        self.limit = job_streams
        self.workspace: list[tuple[float, float]] = []
        """(arrival, latency) of each step event on the workspace stream."""
        self.jobs: list[tuple[float, float]] = []
        self.open_jobs = 0
        self.tasks: set[asyncio.Task[None]] = set()
        self.ready = asyncio.Event()
        self.client = httpx.AsyncClient(
            base_url=stack.gateway_url,
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=httpx.Timeout(10, read=None),
            limits=httpx.Limits(max_connections=job_streams + 4),
        )

    async def _read(self, path: str, into: list[tuple[float, float]]) -> None:
        async with self.client.stream("GET", path) as response:
            if response.status_code != 200:
                return
            async for line in response.aiter_lines():
                if line.startswith("event: ready"):
                    self.ready.set()
                if not line.startswith("data: ") or "sim_sent_at" not in line:
                    continue
                now = time.time()
                sent = json.loads(line[6:]).get("captured", {}).get("sim_sent_at")
                if sent:
                    into.append((now, now - sent))

    def start(self) -> None:
        self._spawn(self._read("/api/v1/events?types=step", self.workspace))

    def follow_job(self, job_id: str) -> None:
        if self.open_jobs >= self.limit:
            return
        self.open_jobs += 1

        async def follow() -> None:
            try:
                await self._read(f"/api/v1/jobs/{job_id}/events?types=step", self.jobs)
            except httpx.HTTPError:
                pass
            finally:
                self.open_jobs -= 1

        self._spawn(follow())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.client.aclose()


class Submitter:
    def __init__(self, stack: SimulatedStack, followers: Followers) -> None:
        self.followers = followers
        self.client = httpx.AsyncClient(
            base_url=stack.gateway_url,
            headers={"Authorization": f"Bearer {stack.token}"},
            timeout=30,
            limits=httpx.Limits(max_connections=64),
        )
        self.in_flight = 0
        self.submitted = 0
        self.failed = 0
        self.skipped = 0
        self.ids: list[str] = []

    async def one(self, body: dict[str, Any], follow: bool) -> None:
        self.in_flight += 1
        try:
            response = await self.client.post("/api/v1/jobs", json=body)
            if response.status_code >= 300:
                self.failed += 1
                return
            job_id = response.json()["id"]
            self.ids.append(job_id)
            self.submitted += 1
            if follow:
                self.followers.follow_job(job_id)
        except httpx.HTTPError:
            self.failed += 1
        finally:
            self.in_flight -= 1

    async def offer(self, body: dict[str, Any], rate: float, seconds: float) -> None:
        """Submit at ``rate`` jobs per second for ``seconds``; a tick with 64 submissions still
        waiting is skipped (counted): the gateway is not keeping up."""
        tasks: set[asyncio.Task[None]] = set()
        started = time.monotonic()
        count = 0
        while (elapsed := time.monotonic() - started) < seconds:
            due = int(elapsed * rate) + 1
            while count < due:
                count += 1
                if self.in_flight >= 64:
                    self.skipped += 1
                    continue
                task = asyncio.create_task(self.one(body, follow=count % 10 == 0))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.sleep(min(0.02, 1 / rate))
        await asyncio.gather(*tasks)

    async def burst(self, body: dict[str, Any], count: int) -> None:
        limit = asyncio.Semaphore(32)

        async def one() -> None:
            async with limit:
                await self.one(body, follow=False)

        await asyncio.gather(*(one() for _ in range(count)))

    async def close(self) -> None:
        await self.client.aclose()


async def status_counts(db: asyncpg.Connection) -> dict[str, int]:
    rows = await db.fetch("SELECT status, count(*) AS n FROM queue.jobs GROUP BY status")
    return {r["status"]: r["n"] for r in rows}


async def backlog(db: asyncpg.Connection, nats_url: str) -> dict[str, int]:
    """What waits between the parts: reports not yet applied by the queue (the REPORTS
    consumer's pending and unacknowledged messages), dispatches not yet pulled, and outbox rows
    not yet published (events and dispatches recorded, not yet on NATS)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        reports = await js.consumer_info(streams.REPORTS.name, streams.QUEUE_REPORTS.durable)
        dispatch = await js.consumer_info(streams.DISPATCH.name, streams.EXECUTORS.durable)
    finally:
        await nc.close()
    return {
        "reports": reports.num_pending + reports.num_ack_pending,
        "dispatch": dispatch.num_pending,
        "outbox": int(await db.fetchval("SELECT count(*) FROM queue.outbox")),
    }


async def transitions_between(db: asyncpg.Connection, start: float, end: float) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM queue.job_events WHERE type = 'status' "
            "AND created_at >= to_timestamp($1) AND created_at < to_timestamp($2)",
            start,
            end,
        )
    )


def window(samples: list[tuple[float, float]], start: float, end: float) -> list[float]:
    return [v for at, v in samples if start <= at < end]


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 99) * 1000:.0f}"


def meter(stack: SimulatedStack) -> CpuMeter:
    roots: dict[str, list[int]] = {}
    for name in SERVICES:
        proc = stack.children[name].proc
        assert proc is not None
        roots[name] = [proc.pid]
    assert stack.nats.proc is not None
    assert stack.postgres is not None
    assert stack.postgres.proc is not None
    roots["nats-server"] = [stack.nats.proc.pid]
    roots["postgres"] = [stack.postgres.proc.pid]
    roots["sim executors"] = stack.fleet.pids()
    return CpuMeter(roots)


def busiest(cores: dict[str, float]) -> str:
    name = max(cores, key=lambda n: cores[n])
    return f"{name} {cores[name]:.2f}"


@dataclass
class Measured:
    throughput: list[dict[str, Any]] = field(default_factory=list)
    hold: list[dict[str, Any]] = field(default_factory=list)
    dispatch_floor: float = 0.0
    claim_floor: list[float] = field(default_factory=list)
    throughput_ids: list[str] = field(default_factory=list)
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    step_events_seen: tuple[int, int] = (0, 0)
    """Step events read from the workspace stream and from job streams."""


async def measure(stack: SimulatedStack, plan: Plan) -> Measured:
    """The plan's phases on ``stack`` (whose simulated executors renew as ``plan.fleet``
    says)."""
    result = Measured()
    if "throughput" in plan.phases:
        result.dispatch_floor = await raw_dispatch(
            stack.nats.url, plan.baseline_messages, plan.fleet.processes
        )
        result.claim_floor = await raw_request_reply(stack.nats.url, 500)
    db = await asyncpg.connect(stack.database_url)
    followers = Followers(stack, plan.job_streams)
    submitter = Submitter(stack, followers)
    samples: dict[str, list[tuple[float, float]]] = result.samples
    cpu = meter(stack)

    def collect() -> None:
        for kind, found in stack.fleet.new_samples().items():
            samples.setdefault(kind, []).extend(found)

    try:
        if "throughput" in plan.phases:
            followers.start()
            await asyncio.wait_for(followers.ready.wait(), 30)
        body = {"runbook": runbook(plan.steps, plan.step_ms)}
        for rate in plan.rates if "throughput" in plan.phases else ():
            result.throughput.append(
                await throughput_level(db, stack, submitter, followers, cpu, body, rate, plan)
            )
            collect()
            level = result.throughput[-1]
            claims = window(samples.get("claim", []), level["start"], level["end"])
            level["claim"] = ms(claims)
            level["claims_per_s"] = len(claims) / (level["end"] - level["start"])
        result.throughput_ids = list(submitter.ids)
        if "concurrency" in plan.phases:
            await drain(db, 120)
            result.hold = await hold_levels(db, stack, submitter, cpu, samples, collect, plan)
    finally:
        result.step_events_seen = (len(followers.workspace), len(followers.jobs))
        await followers.close()
        await submitter.close()
        await db.close()
    return result


async def throughput_level(
    db: asyncpg.Connection,
    stack: SimulatedStack,
    submitter: Submitter,
    followers: Followers,
    cpu: CpuMeter,
    body: dict[str, Any],
    rate: float,
    plan: Plan,
) -> dict[str, Any]:
    submitted, skipped, failed = submitter.submitted, submitter.skipped, submitter.failed
    finished_before = (await status_counts(db)).get("completed", 0)
    busy_before = machine_busy()
    cpu.cores()
    harness_before = time.process_time()
    start = time.time()
    await submitter.offer(body, rate, plan.level_s)
    end = time.time()
    cores = cpu.cores()
    cores["harness"] = (time.process_time() - harness_before) / (end - start)
    busy_after = machine_busy()
    counts = await status_counts(db)
    waiting = await backlog(db, stack.nats.url)
    await asyncio.sleep(0.5)
    transitions = await transitions_between(db, start, end)
    return {
        "rate": rate,
        "start": start,
        "end": end,
        "submitted_per_s": (submitter.submitted - submitted) / (end - start),
        "not_offered": submitter.skipped - skipped,
        "failed": submitter.failed - failed,
        "transitions_per_s": transitions / (end - start),
        "finished_per_s": (counts.get("completed", 0) - finished_before) / (end - start),
        "queued": counts.get("queued", 0),
        "running": counts.get("running", 0),
        "backlog": waiting,
        "event_ws": ms(window(followers.workspace, start, end + 2)),
        "event_job": ms(window(followers.jobs, start, end + 2)),
        "cores": cores,
        "machine": (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1),
    }


async def drain(db: asyncpg.Connection, timeout: float) -> None:
    """Wait until no job is queued or running (the throughput phase's jobs finish)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = await status_counts(db)
        if not counts.get("queued") and not counts.get("running"):
            return
        await asyncio.sleep(0.5)


GRACE_LINE = "no reaper passed for a while"
"""The queue's warning when its reaper found no pass for longer than the interval and a second
(the queue was stalled, or PostgreSQL or NATS down) and gave every active lease a grace period
instead of reaping: while it happens, a late renewal costs nothing."""


def graces(stack: SimulatedStack) -> int:
    """Outage graces the queue has granted so far (from its log)."""
    log = stack.log_dir / "queue.log"
    return log.read_text(errors="replace").count(GRACE_LINE) if log.exists() else 0


async def executors_lost(db: asyncpg.Connection) -> int:
    """Jobs the queue declared lost (their lease ran out): each is a live job lost."""
    return int(await db.fetchval("SELECT count(*) FROM queue.jobs WHERE reason = 'executor lost'"))


async def hold_levels(
    db: asyncpg.Connection,
    stack: SimulatedStack,
    submitter: Submitter,
    cpu: CpuMeter,
    samples: dict[str, list[tuple[float, float]]],
    collect: Any,
    plan: Plan,
) -> list[dict[str, Any]]:
    """Blocks of long jobs until ``hold_target`` run at once. After each block has been
    claimed, a steady window of one lease and two seconds (every job renews several times, and
    a renewal that failed would have let its lease run out): renewal latency and rate, leases
    lost, and the CPU of each part while the stack does nothing but hold the jobs."""
    body = {"runbook": runbook(1, plan.hold_step_s * 1000)}
    rows: list[dict[str, Any]] = []
    wanted = 0
    lost_before = await executors_lost(db)
    steady_s = plan.fleet.lease_ms / 1000 + 2
    deadline = time.monotonic() + plan.hold_budget_s
    while wanted < plan.hold_target and time.monotonic() < deadline:
        block = min(plan.hold_block, plan.hold_target - wanted)
        wanted += block
        start = time.time()
        failed = submitter.failed
        graces_before = graces(stack)
        await submitter.burst(body, block)
        submit_s = time.time() - start
        running = 0
        settle = time.monotonic() + 90
        while time.monotonic() < min(settle, deadline + 30):
            running = (await status_counts(db)).get("running", 0)
            if running >= wanted - (submitter.failed - failed):
                break
            await asyncio.sleep(0.5)
        settled = time.time()
        cpu.cores()  # from here on the stack only holds the jobs
        busy_before = machine_busy()
        await asyncio.sleep(steady_s)
        end = time.time()
        cores = cpu.cores()
        busy_after = machine_busy()
        await asyncio.sleep(0.6)  # the simulated executors write their samples every 0.5 s
        collect()
        counts = await status_counts(db)
        requests = window(samples.get("renew", []), settled, end)
        renewed = sum(window(samples.get("renewed", []), settled, end))
        named_lost = len(window(samples.get("lost", []), 0, end))
        rows.append(
            {
                "wanted": wanted,
                "running": counts.get("running", 0),
                "queued": counts.get("queued", 0),
                "failed_submits": submitter.failed - failed,
                "submit_per_s": block / submit_s,
                "claimed_s": settled - start,
                "claim": ms(window(samples.get("claim", []), start, settled)),
                "renew": ms(requests),
                "requests_per_s": len(requests) / steady_s,
                "renewed_per_s": renewed / steady_s,
                "lost": await executors_lost(db) - lost_before,
                "named_lost": named_lost,
                "graces": graces(stack) - graces_before,
                "renew_failed": len(window(samples.get("renew_failed", []), start, end)),
                "cores": cores,
                "plane": cores["queue"] + cores["postgres"] + cores["nats-server"],
                "machine": (busy_after[0] - busy_before[0])
                / max(busy_after[1] - busy_before[1], 1),
                "load": os.getloadavg()[0],
            }
        )
        if counts.get("running", 0) < wanted * 0.95 or rows[-1]["lost"] or named_lost:
            break  # it no longer keeps up: the row says where it broke
    return rows


def cost_per_job(result: Measured) -> str:
    """CPU milliseconds each part spent per finished job, at the levels where every job
    submitted also finished (the work per job, whatever share of the machine the stack got)."""
    kept = [
        r
        for r in result.throughput
        if r["finished_per_s"] >= 0.9 * r["submitted_per_s"] and r["finished_per_s"] > 0
    ]
    if not kept:
        return "CPU per job: no level where every submitted job finished within it"
    names = list(kept[0]["cores"])
    rows = [
        (
            f"{r['rate']:.0f}/s",
            *(f"{r['cores'][n] * 1000 / r['finished_per_s']:.1f}" for n in names),
            f"{sum(r['cores'].values()) * 1000 / r['finished_per_s']:.1f}",
        )
        for r in kept
    ]
    return table(
        "CPU ms per finished job (3 status transitions, 3 steps: 7 reports, 9 events), at the "
        "levels that kept up",
        rows,
        ("level", *names, "all"),
    )


def render_hold(holds: dict[str, list[dict[str, Any]]], plan: Plan) -> str:
    """The concurrency phase, a block of rows per renewal protocol, and what holding a running
    job costs (CPU of queue, PostgreSQL and nats-server in the steady window)."""
    rows = [
        (
            renew,
            str(r["wanted"]),
            str(r["running"]),
            f"{r['claimed_s']:.0f}",
            r["claim"],
            r["renew"],
            f"{r['requests_per_s']:.1f}",
            f"{r['renewed_per_s']:.0f}",
            f"{r['lost']} / {r['named_lost']} / {r['renew_failed']}",
            str(r["graces"]),
            f"{r['cores']['queue']:.2f} / {r['cores']['postgres']:.2f} / "
            f"{r['cores']['nats-server']:.2f} / {r['cores']['sim executors']:.2f}",
            f"{r['plane'] * 1000 / r['requests_per_s']:.2f}" if r["requests_per_s"] else "-",
            f"{r['plane'] * 1e6 / r['renewed_per_s']:.0f}" if r["renewed_per_s"] else "-",
            f"{r['plane'] * 1000 / max(r['running'], 1):.3f}",
            f"{r['machine'] * 100:.0f} % / {r['load']:.1f}",
        )
        for renew, found in holds.items()
        for r in found
    ]
    return table(
        f"control plane, concurrency: jobs of one {plan.hold_step_s} s step, submitted in blocks "
        f"of {plan.hold_block} ({plan.baseline_block} for a baseline) to "
        f"{plan.fleet.processes} simulated executors; lease "
        f"{plan.fleet.lease_ms} ms renewed every {plan.fleet.renew_ms} ms; after each block is "
        f"claimed, a steady window of {plan.fleet.lease_ms / 1000 + 2:.0f} s (latencies p50 / p99 "
        "ms; lost: jobs the queue declared lost / leases the executors were told or gave up lost "
        "/ renewal requests failed; graces: times the queue, finding its reaper stalled, extended "
        "every lease instead of reaping; control plane = queue + postgres + nats-server)",
        rows,
        (
            "renewal",
            "submitted",
            "running",
            "claimed in s",
            "claim",
            "renew",
            "requests/s",
            "leases renewed/s",
            "lost",
            "graces",
            "queue / postgres / nats / sim cores",
            "control-plane CPU ms per request",
            "CPU µs per lease renewed",
            "control-plane cores per 1,000 running",
            "machine busy / load",
        ),
    )


def render(result: Measured, plan: Plan) -> str:
    """The throughput phase, its CPU per job and the same-run baselines."""
    floor_p50 = percentile(result.claim_floor, 50) * 1000
    floor_p99 = percentile(result.claim_floor, 99) * 1000
    peak_claims = max((r["claims_per_s"] for r in result.throughput), default=0.0)
    rows: list[tuple[str, ...]] = [
        (
            f"{r['rate']:.0f}",
            f"{r['submitted_per_s']:.1f}",
            f"{r['transitions_per_s']:.1f}",
            f"{r['finished_per_s']:.1f}",
            str(r["queued"]),
            f"{r['backlog']['reports']} / {r['backlog']['outbox']}",
            r["claim"],
            r["event_ws"],
            r["event_job"],
            busiest(r["cores"]),
            f"{r['machine'] * 100:.0f} %",
        )
        for r in result.throughput
    ]
    out = [
        table(
            f"control plane, throughput: jobs of {plan.steps} steps x {plan.step_ms} ms, "
            f"{plan.fleet.processes} simulated executors, {plan.level_s:.0f} s a level "
            f"(latencies p50 / p99 ms; cores of the busiest part; machine: all 2 cores, "
            "shared with other work)",
            rows,
            (
                "offered/s",
                "submitted/s",
                "transitions/s",
                "finished/s",
                "queued at end",
                "reports / outbox waiting",
                "claim",
                "event (workspace SSE)",
                "event (job SSE)",
                "busiest (cores)",
                "machine busy",
            ),
        ),
        "",
        "CPU by part per level (cores; 1.00 = one core all the time):",
    ]
    names = list(result.throughput[0]["cores"]) if result.throughput else []
    out.append(
        table(
            "",
            [
                (f"{r['rate']:.0f}/s", *(f"{r['cores'][n]:.2f}" for n in names))
                for r in result.throughput
            ],
            ("level", *names),
        ).lstrip("\n")
    )
    out += ["", cost_per_job(result)]
    out += [
        "",
        table(
            "same-run baselines on the same nats-server",
            [
                (
                    "dispatch: raw JetStream work-queue pull + ack "
                    f"({plan.fleet.processes} consumers), msgs/s",
                    f"{result.dispatch_floor:.0f}",
                    f"claims/s at the best level: {peak_claims:.0f} "
                    f"(ratio {peak_claims / result.dispatch_floor:.3f})"
                    if result.dispatch_floor
                    else "-",
                ),
                (
                    "claim: raw NATS request/reply p50 / p99 ms",
                    f"{floor_p50:.2f} / {floor_p99:.2f}",
                    "claim (queue, PostgreSQL) at the lowest level: "
                    + (result.throughput[0]["claim"] if result.throughput else "-"),
                ),
            ],
            ("baseline", "figure", "Runwright"),
        ),
    ]
    return "\n".join(out)


def run(plan: Plan | None = None) -> str:
    """Each renewal protocol of the plan on a stack of its own (baselines first); the
    throughput phase on the last (the executor's protocol)."""
    plan = plan or Plan.from_env()
    holds: dict[str, list[dict[str, Any]]] = {}
    result = Measured()
    for renew in plan.renewals:
        last = renew == plan.renewals[-1]
        phases = plan.phases if last else tuple(p for p in plan.phases if p == "concurrency")
        if not phases:
            continue
        mode = replace(
            plan,
            phases=phases,
            fleet=replace(plan.fleet, renew=renew),
            hold_block=plan.hold_block if last else plan.baseline_block,
        )
        result = measure_on_a_stack(mode)
        holds[renew] = result.hold
    out = [render(result, plan)] if "throughput" in plan.phases else []
    if "concurrency" in plan.phases:
        out.append(render_hold(holds, plan))
    return "\n\n".join(out) + f"\n(cores of this machine: {os.cpu_count()})"


def measure_on_a_stack(plan: Plan) -> Measured:
    stack = simulated_stack(plan)
    stack.start(ready_timeout=180)
    try:
        return asyncio.run(measure(stack, plan))
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
