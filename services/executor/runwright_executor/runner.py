"""Running one claimed job: the engine in a fresh browser context, every step reported over
NATS, the lease kept alive beside it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from nats.aio.client import Client
from playwright.async_api import Browser, Page
from runwright_bus import request
from runwright_common import metrics
from runwright_common.logging import get_logger
from runwright_engine.egress.contexts import Spares, guarded_context
from runwright_engine.egress.proxy import EgressProxy
from runwright_engine.engine import Engine, Held, Observer, RunOutcome, StepResult
from runwright_engine.files import FileRecord
from runwright_engine.pressure import Pressure
from runwright_engine.screencast import Screencast
from runwright_proto import subjects
from runwright_proto.commands import ClaimReply, RenewLease, RenewReply
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


def lease_clock() -> float:
    """Seconds on a clock that keeps counting while the machine is suspended, as the database's
    does: a lease that ran out during a suspension is known to have run out on waking."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


RETRY_PAUSE_S = 0.2
"""After a failed renewal, the next try comes this soon (the lease may be close to its end)."""
OUTAGE_RETRY_MAX_S = 1.0
"""Once the lease may have run out, tries back off up to this far apart."""


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
        self.lease_until = (
            lease_clock() if claimed_at is None else claimed_at
        ) + ctx.lease_ms / 1000
        """`lease_clock` time by which the lease has surely not yet run out: the last granted
        claim or renewal's request time plus the lease (the queue stamped it later)."""
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
        self._keeper: asyncio.Task[None] | None = None
        self._renewed = asyncio.Event()

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
        lease = self._keeper = asyncio.create_task(self._keep_lease(), name=f"lease-{self.job_id}")
        await self.steering.start()
        work = self._work = asyncio.create_task(self._run(), name=f"job-{self.job_id}")
        try:
            done, _ = await asyncio.wait({lease, work}, return_when=asyncio.FIRST_COMPLETED)
            if lease in done and not work.done():
                work.cancel()
                log.warning("lease lost; job abandoned", job_id=self.job_id)
            with contextlib.suppress(asyncio.CancelledError, LeaseLost, JobStopped):
                await work
        finally:
            await self.steering.stop()
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await lease

    async def lease_held(self) -> None:
        """Return once the lease surely holds: at once while it does; after it may have run out
        (PostgreSQL or NATS down, the queue unreachable), once a renewal is granted again, since
        a granted renewal proves no other attempt took the job. Raise `LeaseLost` once the
        keeper gives up. No step starts before this returns."""
        waited = False
        while lease_clock() >= self.lease_until:
            if self._keeper is None or self._keeper.done():
                raise LeaseLost("could not renew the lease in time")
            if not waited:
                log.warning("lease not confirmed; the next step waits for a renewal")
                waited = True
            self._renewed.clear()
            renewed = asyncio.create_task(self._renewed.wait())
            try:
                await asyncio.wait({renewed, self._keeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                renewed.cancel()
        if waited:
            log.info("lease renewed again; the run goes on")

    async def _keep_lease(self) -> None:
        """Renew every ``lease_renew_ms``; after a failed try, try again shortly, each try's
        timeout within what is left of the lease. Once the lease may have run out, keep trying
        (no new step starts meanwhile) for ``lease_patience_s``: a renewal granted after an outage
        resumes the run. Raises `LeaseLost` when the queue says the job is no longer this
        attempt's, or when no renewal came within the patience."""
        lease_s = self.ctx.lease_ms / 1000
        every_s = self.ctx.lease_renew_ms / 1000
        due = self.lease_until - lease_s + every_s
        pause_s = RETRY_PAUSE_S
        while True:
            await asyncio.sleep(max(0.0, due - lease_clock()))
            sent = lease_clock()
            left = self.lease_until - sent
            if -left > self.ctx.lease_patience_s:
                raise LeaseLost(
                    f"no renewal granted for {self.ctx.lease_patience_s:g} s after the lease ended"
                )
            try:
                reply: RenewReply = await request(
                    self.ctx.nc,
                    subjects.RENEW,
                    RenewLease(
                        job_id=self.job_id,
                        attempt=self.attempt,
                        executor_id=self.ctx.executor_id,
                        lease_ms=self.ctx.lease_ms,
                    ),
                    RenewReply,
                    timeout=min(every_s, left) if left > RETRY_PAUSE_S else every_s,
                )
            except Exception as exc:
                log.info("lease not renewed; trying again", error=repr(exc), left_s=round(left, 2))
                if left <= 0:  # an outage: try on, less often
                    pause_s = min(OUTAGE_RETRY_MAX_S, pause_s * 2)
                due = lease_clock() + (pause_s if left <= 0 else RETRY_PAUSE_S)
                continue
            if not reply.ok:
                raise LeaseLost(reply.reason or "lease lost")
            self.lease_until = sent + lease_s
            self._renewed.set()
            pause_s = RETRY_PAUSE_S
            late = sent - due
            metrics.lease_renewed(late)
            due = sent + every_s

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
