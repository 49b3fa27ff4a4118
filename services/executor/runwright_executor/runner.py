"""Running one claimed job: the engine in a fresh browser context, every step reported over
NATS, the lease kept alive beside it."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from nats.aio.client import Client
from playwright.async_api import Browser, Page
from runwright_common import metrics
from runwright_common.logging import get_logger
from runwright_engine.egress.contexts import Spares, guarded_context
from runwright_engine.egress.proxy import EgressProxy
from runwright_engine.engine import Engine, Held, Observer, RunOutcome, StepResult
from runwright_engine.files import FileRecord
from runwright_engine.pressure import Pressure
from runwright_engine.screencast import Screencast
from runwright_proto.commands import ClaimReply
from runwright_proto.reports import (
    FileRef,
    JobFinished,
    JobReleased,
    Report,
    StepFinished,
    StepStarted,
)
from runwright_runbook.model import Step

from runwright_executor import reporter
from runwright_executor.clock import lease_clock as lease_clock  # where others import it from
from runwright_executor.leases import Lease, LeaseKeeper
from runwright_executor.live import LiveView
from runwright_executor.stager import Stager
from runwright_executor.steering import JobStopped, Steering

log = get_logger("runwright.executor.runner")


def now() -> datetime:
    return datetime.now(UTC)


CONTEXT_OPTIONS: dict[str, Any] = {
    "viewport": {"width": 1280, "height": 720},
    "accept_downloads": True,
}
"""Every job's browser context (spares are made with the same)."""


class LeaseLost(Exception):
    pass


@dataclass
class JobContext:
    nc: Client
    browser: Browser
    executor_id: str
    lease_ms: int
    files_dir: Path
    env_prefix: str
    egress: EgressProxy
    """The filtering proxy every job's browser context connects through."""
    max_download_bytes: int | None = None
    live_max_fps: float = 5.0
    spares: Spares | None = None
    """Contexts made ahead, one per free slot (None: each job makes its own)."""
    pressure: Pressure | None = None
    """How steps' timeouts stretch while the host is short of CPU (None: they never do)."""
    lease_renew_ms: int = 1_500
    """How often a running job's lease is renewed (``RUNWRIGHT_LEASE_RENEW_MS``)."""
    lease_patience_s: float = 120.0
    """How long after its lease may have run out an attempt keeps asking for a renewal before it
    gives the job up (``RUNWRIGHT_LEASE_PATIENCE_S``)."""
    leases: LeaseKeeper = field(init=False)
    """The process's one lease keeper: every running job's lease renewed in one request."""

    def __post_init__(self) -> None:
        self.leases = LeaseKeeper(
            self.nc, self.executor_id, self.lease_ms, self.lease_renew_ms, self.lease_patience_s
        )


def file_ref(record: FileRecord) -> FileRef:
    """A file for the job's report: never the executor's own path (it names the host's disk)."""
    return FileRef(
        kind=record.kind,
        name=record.name,
        size=record.size,
        sha256=record.sha256,
        content_type=record.content_type,
        ordinal=record.ordinal,
        artifact_id=record.artifact_id,
    )


class NatsObserver(Observer):
    """Reports each step to the REPORTS stream, tagged with the attempt that holds the job, and
    lets people steer the run at each step boundary."""

    def __init__(self, runner: JobRunner, files_dir: Path) -> None:
        self.runner = runner
        self.files_dir = files_dir

    async def before_step(self, step: Step) -> None:
        steering = self.runner.steering
        await steering.wait_while_paused()
        if step.requires_confirmation:
            description = self.runner.describe(step)
            await steering.approve(step, description, self.runner.stager.stage, self.files_dir)
            await steering.wait_while_paused()
        await self.runner.lease_held()  # no step starts on a lease that may have run out

    async def held(self, step: Step, result: StepResult, round_: int) -> Held:
        return await self.runner.steering.hold(
            step, result, round_, self.runner.stager.stage, self.files_dir
        )

    async def step_started(self, step: Step, description: str) -> None:
        await self.runner.report(
            StepStarted(
                job_id=self.runner.job_id,
                attempt=self.runner.attempt,
                at=now(),
                ordinal=step.ordinal,
                description=description,
            )
        )

    async def file_ready(self, record: FileRecord) -> None:
        await self.runner.stager.stage(record)

    async def page_opened(self, page: Page, screencast: Screencast) -> None:
        self.runner.steering.page = page
        await self.runner.live.attach(screencast)

    async def step_finished(self, step: Step, result: StepResult) -> None:
        self.runner.steering.captured.update(result.captured)
        metrics.step_finished(result.action_type, result.status, result.duration_ms, result.retries)
        await self.runner.report(
            StepFinished(
                job_id=self.runner.job_id,
                attempt=self.runner.attempt,
                at=now(),
                ordinal=step.ordinal,
                status=result.status,
                duration_ms=result.duration_ms,
                retries=result.retries,
                captured=result.captured,
                error=result.error,
                description=result.description,
            )
        )


class JobRunner:
    def __init__(self, ctx: JobContext, claim: ClaimReply, claimed_at: float | None = None) -> None:
        """``claimed_at``: `lease_clock` when the claim was asked for (the lease began later)."""
        assert claim.runbook is not None
        self.claimed_at = lease_clock() if claimed_at is None else claimed_at
        self.lease: Lease | None = None
        """Held from `run`'s start to its end; the process's `LeaseKeeper` renews it."""
        self.ctx, self.job_id, self.attempt = ctx, claim.job_id, claim.attempt
        self.claim = claim
        self.secrets: tuple[str, ...] = tuple(claim.secrets.values())
        self.stager = Stager(ctx.nc.jetstream(), claim.job_id, claim.attempt)
        self.live = LiveView(ctx.nc, claim.job_id, ctx.live_max_fps)
        self.steering = Steering(
            ctx.nc,
            claim.job_id,
            claim.attempt,
            on_cancel=self.cancel,
            report=self.report,
            approval_timeout_s=claim.options.approval_timeout_s,
        )
        self.engine: Engine | None = None
        self._work: asyncio.Task[None] | None = None
        self._seq = 0
        self._sending = asyncio.Lock()

    @property
    def lease_until(self) -> float:
        """`lease_clock` time by which the lease has surely not yet run out: the last granted
        claim or renewal's request time plus the lease (the queue stamped it later)."""
        if self.lease is None:
            return self.claimed_at + self.ctx.lease_ms / 1000
        return self.lease.until

    def cancel(self) -> None:
        """A person cancelled the job: abort the running step now; the context closes."""
        if self._work is not None and not self._work.done():
            self._work.cancel()

    async def report(self, message: Report) -> None:
        """Send one report on the attempt's ordered path: the next ``seq``, one at a time, each
        acknowledged by the stream before the next is numbered."""
        async with self._sending:
            self._seq += 1
            numbered = msgspec.structs.replace(message, seq=self._seq)
            await reporter.send(self.ctx.nc.jetstream(), numbered, self.secrets)

    def describe(self, step: Step) -> str:
        """The step's description rendered now (secrets masked)."""
        return self.engine.describe(step) if self.engine is not None else step.description

    async def hand_back(self, executor_id: str) -> None:
        """Give the job back (its loss policy applies), after everything reported so far."""
        await self.report(
            JobReleased(job_id=self.job_id, attempt=self.attempt, at=now(), executor_id=executor_id)
        )

    async def run(self) -> None:
        lease = self.lease = self.ctx.leases.hold(self.job_id, self.attempt, self.claimed_at)
        try:
            await self.steering.start()
            work = self._work = asyncio.create_task(self._run(), name=f"job-{self.job_id}")
            try:
                either: set[asyncio.Future[Any]] = {lease.lost, work}
                done, _ = await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if lease.lost in done and not work.done():
                    work.cancel()
                    log.warning(
                        "lease lost; job abandoned", job_id=self.job_id, reason=lease.lost.result()
                    )
                with contextlib.suppress(asyncio.CancelledError, LeaseLost, JobStopped):
                    await work
            finally:
                await self.steering.stop()
        finally:
            self.ctx.leases.settle(lease)  # kept until the queue has applied the last report

    async def lease_held(self) -> None:
        """Return once the lease surely holds: at once while it does; after it may have run out
        (PostgreSQL or NATS down, the queue unreachable), once a renewal is granted again, since
        a granted renewal proves no other attempt took the job. Raise `LeaseLost` once the
        keeper gives the lease up or the queue names it lost. No step starts before this
        returns."""
        waited = False
        while lease_clock() >= self.lease_until:
            lease = self.lease
            if lease is None or lease.lost.done():
                raise LeaseLost(
                    lease.lost.result() if lease is not None else "could not renew the lease"
                )
            if not waited:
                log.warning("lease not confirmed; the next step waits for a renewal")
                waited = True
            lease.renewed.clear()
            renewed = asyncio.create_task(lease.renewed.wait())
            try:
                either: set[asyncio.Future[Any]] = {renewed, lease.lost}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                renewed.cancel()
        if waited:
            log.info("lease renewed again; the run goes on")

    async def _run(self) -> None:
        claim = self.claim
        assert claim.runbook is not None
        guarded = guarded_context(
            self.ctx.browser,
            self.ctx.egress,
            self.job_id,
            self.ctx.spares,
            workspace=claim.workspace,
            **CONTEXT_OPTIONS,
        )
        async with guarded as (context, violations):
            try:
                engine = self.engine = Engine(
                    context,
                    claim.runbook,
                    variables=claim.variables,
                    secrets=claim.secrets,
                    data=claim.data,
                    files_dir=self.ctx.files_dir / self.job_id,
                    observer=NatsObserver(self, self.ctx.files_dir / self.job_id),
                    env_prefix=self.ctx.env_prefix,
                    screenshots=claim.options.screenshots,
                    video=claim.options.video,
                    max_download_bytes=self.ctx.max_download_bytes,
                    egress=violations,
                    pressure=self.ctx.pressure,
                    hold_on_failure=claim.options.on_failure == "hold",
                )
                self.secrets = engine.secrets
                outcome: RunOutcome = await engine.run()
            finally:
                await self.live.close()
        await self.report(
            JobFinished(
                job_id=self.job_id,
                attempt=self.attempt,
                at=now(),
                status=outcome.status,
                reason=outcome.reason,
                memory_collections={k: len(v) for k, v in outcome.memory.items()},
                files=[file_ref(f) for f in outcome.files],
                artifact_ids=list(self.stager.staged),
            )
        )
