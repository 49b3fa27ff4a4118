"""A simulated executor: the real executor's protocol over the real NATS, without a browser.

It signs in to nats-server as the executor, answers ``runwright.health.executor``, pulls
``DispatchJob`` from the executors' durable consumer, claims each job (``ClaimJob`` request/reply,
acknowledging the dispatch as the real executor does, or nak-ing it with the same delays),
subscribes to the job's control subject, keeps the lease as the executor does (all its running
jobs renewed together every ``RUNWRIGHT_LEASE_RENEW_MS`` by the executor's own
``runwright_executor.leases.LeaseKeeper``; with ``RUNWRIGHT_SIM_RENEW=per_job`` each job renews
its own, as executors of the previous release did), and reports every step on the ordered report
path (``StepStarted``, ``StepFinished``, ``JobFinished``, each with the next ``seq`` and the same
``Nats-Msg-Id``, sent by the executor's own ``reporter.send``). A step
takes a modelled time (``RUNWRIGHT_SIM_STEP_MS`` ± ``RUNWRIGHT_SIM_JITTER_MS``) instead of a
browser's work (a ``wait`` step with a ``duration`` takes that duration instead), so one process
holds thousands of "slots".

What it measures goes to ``RUNWRIGHT_SIM_SAMPLES`` (a line per sample, ``kind wall_time value``):
``claim`` (seconds from claim request to reply), ``renew`` (the same for a lease renewal
request), ``renewed`` (the jobs one granted request renewed), ``renew_failed`` (a request that
failed), ``refused`` (a claim not granted), ``lost`` (a lease the queue refused to renew, or one
given up) and ``done`` (a job finished). Each ``StepFinished`` carries ``captured.sim_sent_at``
(wall time when it was sent), so an SSE follower measures report -> event on its stream.

Run as ``python -m tests.support.sim_executor`` with the executor's environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from runwright_bus import decode, request
from runwright_bus.service import ServiceContext, service
from runwright_bus.topology import wait_for_consumer
from runwright_common.errors import RetryableError
from runwright_common.logging import get_logger
from runwright_common.settings import CommonSettings, load
from runwright_executor import reporter
from runwright_executor.clock import lease_clock
from runwright_executor.leases import Lease, LeaseKeeper
from runwright_proto import streams, subjects
from runwright_proto.commands import (
    CONCURRENCY_LIMIT,
    ClaimJob,
    ClaimReply,
    DispatchJob,
    RenewLease,
    RenewReply,
)
from runwright_proto.control import Control
from runwright_proto.reports import JobFinished, Report, StepFinished, StepStarted
from runwright_runbook.model import WaitAction

log = get_logger("runwright.sim_executor")


class SimSettings(CommonSettings, frozen=True, kw_only=True):
    sim_slots: int = 100
    """Jobs this process runs at once."""
    sim_step_ms: float = 200.0
    sim_jitter_ms: float = 50.0
    lease_ms: int = 6_000
    lease_renew_ms: int = 1_500
    lease_patience_s: float = 120.0
    sim_renew: str = "batch"
    """``batch`` (one request per period for all jobs, as the executor) or ``per_job``."""
    sim_samples: str = ""
    sim_fetch: int = 64
    """Dispatch messages pulled per fetch, at most (the real executor pulls one per free slot)."""


class Samples:
    """Samples buffered in memory, appended to the file every half second."""

    def __init__(self, path: str) -> None:
        self.out: TextIO | None = Path(path).open("a") if path else None  # noqa: SIM115
        self.lines: list[str] = []

    def add(self, kind: str, value: float = 0.0) -> None:
        self.lines.append(f"{kind} {time.time():.6f} {value:.6f}\n")

    def flush(self) -> None:
        if self.out is not None and self.lines:
            self.out.writelines(self.lines)
            self.out.flush()
        self.lines = []


def now() -> datetime:
    return datetime.now(UTC)


class SampledKeeper(LeaseKeeper):
    """The executor's lease keeper, each request sampled."""

    def __init__(self, sim: Simulator) -> None:
        settings = sim.settings
        super().__init__(
            sim.nc,
            sim.instance,
            settings.lease_ms,
            settings.lease_renew_ms,
            settings.lease_patience_s,
        )
        self.samples = sim.samples

    async def _renew(self, chunk: list[Lease]) -> bool:
        started = time.perf_counter()
        granted = await super()._renew(chunk)
        if granted:
            self.samples.add("renew", time.perf_counter() - started)
            self.samples.add("renewed", len(chunk))
        else:
            self.samples.add("renew_failed")
        return granted


class SimJob:
    """One claimed job, run the way ``runwright_executor.runner.JobRunner`` runs it."""

    def __init__(self, sim: Simulator, claim: ClaimReply, asked: float) -> None:
        self.sim, self.claim, self.asked = sim, claim, asked
        self.job_id, self.attempt = claim.job_id, claim.attempt
        self.seq = 0
        self.sending = asyncio.Lock()
        self.cancelled = asyncio.Event()

    async def report(self, message: Report) -> None:
        async with self.sending:
            self.seq += 1
            numbered = msgspec.structs.replace(message, seq=self.seq)
            await reporter.send(self.sim.nc.jetstream(), numbered, ())

    async def on_control(self, msg: Msg) -> None:
        with contextlib.suppress(Exception):
            command: Control = decode(msg.data, Control)
            if command.attempt == self.attempt and command.command == "cancel":
                self.cancelled.set()

    async def run(self) -> None:
        sub = await self.sim.nc.subscribe(subjects.control(self.job_id), cb=self.on_control)
        held: Lease | None = None
        if self.sim.settings.sim_renew == "per_job":
            lease: asyncio.Future[Any] = asyncio.create_task(self.keep_lease())
        else:
            held = self.sim.leases.hold(self.job_id, self.attempt, self.asked)
            lease = held.lost
        work = asyncio.create_task(self.steps())
        cancelled = asyncio.create_task(self.cancelled.wait())
        try:
            done, _ = await asyncio.wait(
                {lease, work, cancelled}, return_when=asyncio.FIRST_COMPLETED
            )
            if held is not None and held.lost in done:
                self.sim.samples.add("lost")
        finally:
            if held is not None:
                self.sim.leases.release(held)
            for task in (lease, work, cancelled):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def keep_lease(self) -> None:
        """The previous release's renewal: one request per job and period."""
        lease_ms = self.sim.settings.lease_ms
        interval = self.sim.settings.lease_renew_ms / 1000
        last_ok = time.monotonic()
        # Spread the renewals of jobs claimed together, as jobs started at different times are.
        await asyncio.sleep(random.uniform(0, interval))  # noqa: S311 (a model, not secrets)
        while True:
            await asyncio.sleep(interval)
            started = time.perf_counter()
            try:
                reply: RenewReply = await request(
                    self.sim.nc,
                    subjects.RENEW,
                    RenewLease(
                        job_id=self.job_id,
                        attempt=self.attempt,
                        executor_id=self.sim.instance,
                        lease_ms=lease_ms,
                    ),
                    RenewReply,
                    timeout=interval,
                )
            except Exception:
                self.sim.samples.add("renew_failed")
                if time.monotonic() - last_ok > lease_ms / 1000:
                    self.sim.samples.add("lost")
                    return
                continue
            self.sim.samples.add("renew", time.perf_counter() - started)
            self.sim.samples.add("renewed", 1)
            if not reply.ok:
                self.sim.samples.add("lost")
                return
            last_ok = time.monotonic()

    async def steps(self) -> None:
        assert self.claim.runbook is not None
        settings = self.sim.settings
        for step in self.claim.runbook.steps:
            await self.report(
                StepStarted(
                    job_id=self.job_id,
                    attempt=self.attempt,
                    at=now(),
                    ordinal=step.ordinal,
                    description=step.description,
                )
            )
            mean_ms = settings.sim_step_ms
            if isinstance(step.action, WaitAction) and step.action.duration is not None:
                mean_ms = step.action.duration
            jitter = random.gauss(0, settings.sim_jitter_ms / 2)
            modelled = max(0.0, (mean_ms + jitter) / 1000)
            await asyncio.sleep(modelled)
            await self.report(
                StepFinished(
                    job_id=self.job_id,
                    attempt=self.attempt,
                    at=now(),
                    ordinal=step.ordinal,
                    status="success",
                    duration_ms=round(modelled * 1000),
                    captured={"sim_sent_at": time.time()},
                    description=step.description,
                )
            )
        await self.report(
            JobFinished(job_id=self.job_id, attempt=self.attempt, at=now(), status="completed")
        )
        self.sim.samples.add("done")


class Simulator:
    def __init__(self, ctx: ServiceContext, settings: SimSettings) -> None:
        self.ctx, self.settings = ctx, settings
        self.nc: Client = ctx.nc
        self.instance = ctx.instance
        self.samples = Samples(settings.sim_samples)
        self.running: set[asyncio.Task[None]] = set()
        self.leases = SampledKeeper(self)

    async def pull_loop(self) -> None:
        sub = await self.ctx.js.pull_subscribe_bind(
            streams.EXECUTORS.durable, streams.EXECUTORS.stream
        )
        slots = asyncio.Semaphore(self.settings.sim_slots)
        while not self.ctx.stop.is_set():
            await slots.acquire()
            free = 1
            while free < self.settings.sim_fetch and not slots.locked():
                await slots.acquire()
                free += 1
            try:
                msgs = await sub.fetch(free, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                msgs = []
            except Exception as exc:  # the loop must outlive a failed pull, as the real one does
                self.samples.add(f"fetch_failed:{type(exc).__name__}")
                log.warning("pull failed; pulling again", error=repr(exc))
                msgs = []
                await asyncio.sleep(0.2)
            for _ in range(free - len(msgs)):
                slots.release()
            for msg in msgs:
                task = asyncio.create_task(self.take(msg, slots))
                self.running.add(task)
                task.add_done_callback(self.running.discard)

    async def take(self, msg: Msg, slots: asyncio.Semaphore) -> None:
        try:
            asked = lease_clock()
            claim = await self.claim(msg)
            if claim is not None:
                await SimJob(self, claim, asked).run()
        except Exception as exc:
            self.samples.add(f"crashed:{type(exc).__name__}")
            log.warning("simulated job crashed", error=repr(exc))
        finally:
            slots.release()

    async def claim(self, msg: Msg) -> ClaimReply | None:
        dispatch: DispatchJob = decode(msg.data, DispatchJob)
        started = time.perf_counter()
        try:
            claim: ClaimReply = await request(
                self.nc,
                subjects.CLAIM,
                ClaimJob(
                    job_id=dispatch.job_id,
                    executor_id=self.instance,
                    lease_ms=self.settings.lease_ms,
                    claim_id=str(uuid.uuid4()),  # one try: the executor's normal path
                ),
                ClaimReply,
            )
        except RetryableError:
            self.samples.add("claim_failed")
            await msg.nak(delay=1.0)
            return None
        self.samples.add("claim", time.perf_counter() - started)
        if not claim.granted and claim.reason == CONCURRENCY_LIMIT:
            self.samples.add("refused")
            await msg.nak(delay=2.0)
            return None
        await msg.ack()
        if not claim.granted:
            self.samples.add("refused")
            return None
        return claim

    async def flush_samples(self) -> None:
        while not self.ctx.stop.is_set():
            await asyncio.sleep(0.5)
            self.samples.flush()


async def main() -> None:
    settings = load(SimSettings)
    async with service("executor", settings) as ctx:
        await wait_for_consumer(ctx.js, streams.EXECUTORS)
        sim = Simulator(ctx, settings)
        ctx.spawn(sim.pull_loop(), "pull-loop")
        ctx.spawn(sim.flush_samples(), "samples")
        await ctx.serve_until_stopped()
        for task in list(sim.running):
            task.cancel()
        sim.samples.flush()


if __name__ == "__main__":
    asyncio.run(main())
