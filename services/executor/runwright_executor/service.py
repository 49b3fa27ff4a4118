"""The executor's lifespan: one browser, N slots, one dispatch message pulled per free slot."""

from __future__ import annotations

import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

import structlog
from nats.aio.msg import Msg
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind
from playwright.async_api import async_playwright
from runwright_bus import decode, ensure_topology
from runwright_bus.consume import Fetcher
from runwright_bus.service import ServiceContext, service
from runwright_bus.topology import wait_for_consumer
from runwright_common import metrics
from runwright_common.errors import RetryableError, SettingsError
from runwright_common.logging import get_logger, logged_failure
from runwright_common.settings import load
from runwright_common.tracing import attached, extract_context, tracer, with_job
from runwright_engine.browser import launch
from runwright_engine.egress.contexts import Spares
from runwright_engine.egress.policy import EgressPolicy
from runwright_engine.egress.proxy import EgressProxy
from runwright_engine.pressure import Pressure
from runwright_proto import streams
from runwright_proto.commands import CONCURRENCY_LIMIT, ClaimReply, DispatchJob

from runwright_executor import claiming
from runwright_executor.runner import CONTEXT_OPTIONS, JobContext, JobRunner
from runwright_executor.settings import ExecutorSettings

log = get_logger("runwright.executor")
RUNNING: dict[str, JobRunner] = {}
"""Jobs this executor runs now, by job id (handed back if still running after the grace)."""


def may_raise_threads() -> bool:
    """Whether the browser may raise its threads to nice -8, as Chromium asks: as root, with
    ``CAP_SYS_NICE``, or with ``RLIMIT_NICE`` at least 28. Without, a busy machine spends
    about twice the CPU on the same pages (see ``runwright_stack.priority``)."""
    if os.geteuid() == 0 or resource.getrlimit(resource.RLIMIT_NICE)[0] >= 28:
        return True
    try:
        with open("/proc/self/status") as status:
            effective = next(line for line in status if line.startswith("CapEff:"))
    except (OSError, StopIteration):
        return False
    return bool(int(effective.split(":")[1], 16) >> 23 & 1)


def sandboxed(settings: ExecutorSettings, euid: int) -> bool:
    """Whether Chromium keeps its sandbox: always, unless switched off outright; as root (where
    it cannot have one) the executor refuses to start unless it was switched off."""
    if settings.chromium_no_sandbox:
        log.warning("Chromium runs WITHOUT its sandbox (RUNWRIGHT_CHROMIUM_NO_SANDBOX)")
        return False
    if euid == 0:
        raise SettingsError(
            "the executor runs as root, where Chromium cannot keep its sandbox: run it as an "
            "unprivileged user (make run uses the system user runwright-browser; the image uses "
            "uid 10001), or set RUNWRIGHT_CHROMIUM_NO_SANDBOX=1 to run the browser unsandboxed"
        )
    return True


async def main() -> None:
    settings = load(ExecutorSettings)
    policy = EgressPolicy.parse(settings.egress_allow)  # a bad entry stops here, named
    sandbox = sandboxed(settings, os.geteuid())
    async with service("executor", settings) as ctx:
        playwright = await ctx.stack.enter_async_context(async_playwright())
        browser = await launch(
            playwright,
            configured=settings.chromium_path,
            headless=settings.headless,
            sandbox=sandbox,
        )
        raised = may_raise_threads()
        log.info("browser started", sandbox=sandbox, version=browser.version, priorities=raised)
        if not raised:
            log.warning(
                "the browser may not raise its threads' priority (no CAP_SYS_NICE, RLIMIT_NICE "
                "below 28): pages cost about twice the CPU on a busy machine"
            )
        ctx.stack.push_async_callback(browser.close)

        async def browser_check() -> str:
            return "ok" if browser.is_connected() else "browser disconnected"

        ctx.checks["browser"] = browser_check
        egress = await EgressProxy(policy).start()
        ctx.stack.push_async_callback(egress.close)
        ctx.counters["egress_blocked"] = lambda: egress.blocked
        spares = Spares(browser, egress, settings.warm_slots(), **CONTEXT_OPTIONS)
        ctx.stack.push_async_callback(spares.close)
        spares.fill()
        await spares.warmed(10)
        ctx.counters["spare_contexts"] = lambda: len(spares)
        if settings.nats_user:  # least privilege: the queue declares the consumer we pull from
            await wait_for_consumer(ctx.js, streams.EXECUTORS)
        else:
            await ensure_topology(ctx.js, streams.ALL_STREAMS, [streams.EXECUTORS])
        job_ctx = JobContext(
            nc=ctx.nc,
            browser=browser,
            executor_id=ctx.instance,
            lease_ms=settings.lease_ms,
            lease_renew_ms=settings.lease_renew_ms,
            lease_patience_s=settings.lease_patience_s,
            files_dir=Path(settings.files_dir or Path(tempfile.gettempdir()) / "runwright-files"),
            env_prefix=settings.env_prefix,
            egress=egress,
            max_download_bytes=settings.max_download_mb * (1 << 20),
            live_max_fps=settings.live_max_fps,
            spares=spares,
            pressure=Pressure(limit=settings.timeout_stretch),
        )
        ctx.spawn(pull_loop(ctx, job_ctx, settings), "pull-loop")
        await ctx.serve_until_stopped()


async def pull_loop(ctx: ServiceContext, job_ctx: JobContext, settings: ExecutorSettings) -> None:
    """Take work only with a free slot; on stop, finish running jobs within the grace period."""
    sub = await ctx.js.pull_subscribe_bind(streams.EXECUTORS.durable, streams.EXECUTORS.stream)
    fetcher = Fetcher(sub, streams.EXECUTORS.durable)
    slots = asyncio.Semaphore(settings.executor_slots)
    running: set[asyncio.Task[None]] = set()
    metrics.executor_slots(lambda: len(running), settings.executor_slots)
    while not ctx.stop.is_set():
        await slots.acquire()
        msgs = await fetcher.fetch(1)
        if not msgs:
            slots.release()
            continue
        task = asyncio.create_task(_take(ctx, job_ctx, msgs[0], slots))
        running.add(task)
        task.add_done_callback(running.discard)
    with logged_failure(log, "dispatch subscription not closed"):
        await sub.unsubscribe()
    if running:
        log.info("draining running jobs", jobs=len(running))
        until = time.monotonic() + settings.drain_grace_s
        _, pending = await asyncio.wait(running, timeout=settings.drain_grace_s)
        for runner in list(RUNNING.values()):
            await hand_back(ctx, job_ctx, runner)
        for task in pending:
            task.cancel()
        # the leases of runs that ended are kept until the queue recorded their ends
        await job_ctx.leases.settled(max(0.0, until - time.monotonic()))


async def hand_back(ctx: ServiceContext, job_ctx: JobContext, runner: JobRunner) -> None:
    """The grace period is over: give the job back (its loss policy applies now)."""
    try:
        await runner.hand_back(job_ctx.executor_id)
    except Exception as exc:
        log.warning(
            "could not hand a job back; its lease will expire",
            job_id=runner.job_id,
            error=repr(exc),
        )
        return
    log.warning("handed a job back", job_id=runner.job_id)


async def _take(
    ctx: ServiceContext, job_ctx: JobContext, msg: Msg, slots: asyncio.Semaphore
) -> None:
    try:
        with attached(extract_context(msg.headers)):
            await _claim_and_run(ctx, job_ctx, msg)
    except Exception:
        log.exception("job run crashed")
    finally:
        slots.release()


async def _claim_and_run(ctx: ServiceContext, job_ctx: JobContext, msg: Msg) -> None:
    started = time.perf_counter()

    def answered(outcome: str) -> None:
        metrics.bus_handled(streams.EXECUTORS.durable, outcome, time.perf_counter() - started)

    with tracer("runwright.executor").start_as_current_span(
        f"consume {msg.subject}", kind=SpanKind.CONSUMER
    ):
        dispatch: DispatchJob = decode(msg.data, DispatchJob)
        try:
            claimed = await claiming.claim(
                ctx.nc, dispatch.job_id, job_ctx.executor_id, job_ctx.lease_ms
            )
        except RetryableError as exc:
            log.warning("claim failed; dispatch will be redelivered", error=str(exc))
            await msg.nak(delay=1.0)
            answered("retry")
            return
        claim, asked = claimed.reply, claimed.asked
        if not claim.granted and claim.reason == CONCURRENCY_LIMIT:
            await msg.nak(delay=2.0)  # a job waits for its workspace: try again shortly
            answered("retry")
            return
        await msg.ack()
        answered("ack")
        if not claim.granted:
            log.info("dispatch not claimed", job_id=dispatch.job_id, reason=claim.reason)
            return
    await run_claimed(job_ctx, claim, asked)


async def run_claimed(job_ctx: JobContext, claim: ClaimReply, asked: float | None = None) -> None:
    """Run a claimed job in its own trace (the one its submission started, whichever dispatch
    woke this executor), every log line written meanwhile naming the job, attempt and
    workspace."""
    parent = extract_context(claim.trace) if claim.trace else otel_context.get_current()
    ids = {"job_id": claim.job_id, "attempt": claim.attempt, "workspace": claim.workspace}
    with (
        attached(with_job(parent, **ids)),
        structlog.contextvars.bound_contextvars(**ids),
        tracer("runwright.executor").start_as_current_span(
            "job run",
            attributes={
                "runwright.job.id": claim.job_id,
                "runwright.job.attempt": claim.attempt,
                "runwright.workspace": claim.workspace,
            },
        ),
    ):
        log.info("running job")
        runner = RUNNING[claim.job_id] = JobRunner(job_ctx, claim, asked)
        try:
            await runner.run()
        finally:
            RUNNING.pop(claim.job_id, None)
        log.info("job run ended")
