"""Running one claimed job: a fresh browser context, each step reported, the lease kept alive."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nats.aio.client import Client
from playwright.async_api import Browser, Page
from runwright_bus import request
from runwright_common import redaction
from runwright_common.logging import get_logger
from runwright_proto import subjects
from runwright_proto.commands import ClaimReply, RenewLease, RenewReply
from runwright_proto.jobs import StepStatus
from runwright_proto.reports import JobFinished, StepError, StepFinished, StepStarted
from runwright_runbook.model import Runbook, Step

from runwright_executor import reporter
from runwright_executor.actions import absolute_url, perform
from runwright_executor.errors import HINTS, classify
from runwright_executor.values import resolve_values, secret_values

log = get_logger("runwright.executor.runner")


def now() -> datetime:
    return datetime.now(UTC)


class LeaseLost(Exception):
    pass


@dataclass
class JobContext:
    nc: Client
    browser: Browser
    executor_id: str
    lease_ms: int


class JobRunner:
    def __init__(self, ctx: JobContext, claim: ClaimReply) -> None:
        assert claim.runbook is not None
        self.ctx, self.job_id, self.attempt = ctx, claim.job_id, claim.attempt
        self.runbook: Runbook = claim.runbook
        self.values = resolve_values(self.runbook, claim.variables, claim.secrets)
        self.secrets = secret_values(self.runbook, self.values, claim.secrets)
        self.console_errors: list[str] = []

    async def run(self) -> None:
        redaction.register(self.secrets)
        lease = asyncio.create_task(self._keep_lease(), name=f"lease-{self.job_id}")
        work = asyncio.create_task(self._run_steps(), name=f"job-{self.job_id}")
        try:
            done, _ = await asyncio.wait({lease, work}, return_when=asyncio.FIRST_COMPLETED)
            if lease in done and not work.done():
                work.cancel()
                log.warning("lease lost; job abandoned", job_id=self.job_id)
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await work
        finally:
            lease.cancel()
            with contextlib.suppress(asyncio.CancelledError, LeaseLost):
                await lease
            redaction.unregister(self.secrets)

    async def _keep_lease(self) -> None:
        interval = self.ctx.lease_ms / 3000
        last_ok = time.monotonic()
        while True:
            await asyncio.sleep(interval)
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
                    timeout=interval,
                )
            except Exception as exc:
                if time.monotonic() - last_ok > self.ctx.lease_ms / 1000:
                    raise LeaseLost("could not renew the lease in time") from exc
                continue
            if not reply.ok:
                raise LeaseLost(reply.reason or "lease lost")
            last_ok = time.monotonic()

    async def _report(self, report: Any) -> None:
        await reporter.send(self.ctx.nc.jetstream(), report, self.secrets)

    async def _run_steps(self) -> None:
        settings = self.runbook.settings
        context = await self.ctx.browser.new_context(
            viewport={"width": 1280, "height": 720}, accept_downloads=True
        )
        failed = False
        try:
            page = await context.new_page()
            page.on("console", lambda m: self._console(m.type, m.text))
            page.on("pageerror", lambda e: self._console("pageerror", str(e)))
            start = self.runbook.metadata.start_url
            if start:
                with contextlib.suppress(Exception):
                    await page.goto(
                        absolute_url(self.runbook, start), timeout=settings.default_timeout
                    )
            for step in self.runbook.steps:
                ok = await self._run_step(page, step)
                failed = failed or not ok
                if not ok and settings.stop_on_error:
                    break
                if settings.pause_between_steps:
                    await asyncio.sleep(settings.pause_between_steps / 1000)
        finally:
            with contextlib.suppress(Exception):
                await context.close()
        reason = "a step failed" if failed else None
        await self._report(
            JobFinished(
                job_id=self.job_id,
                attempt=self.attempt,
                at=now(),
                status="failed" if failed else "completed",
                reason=reason,
            )
        )

    def _console(self, kind: str, text: str) -> None:
        if kind in ("error", "pageerror"):
            self.console_errors.append(text[:500])
            del self.console_errors[:-20]

    async def _run_step(self, page: Page, step: Step) -> bool:
        await self._report(
            StepStarted(job_id=self.job_id, attempt=self.attempt, at=now(), ordinal=step.ordinal)
        )
        started = time.perf_counter()
        timeout = self.runbook.settings.default_timeout
        status: StepStatus
        try:
            outcome = await asyncio.wait_for(
                perform(page, self.runbook, step.action, self.values, timeout),
                timeout=timeout / 1000 + 5,
            )
            if outcome.extracted is not None:
                self.values["__extracted"] = outcome.extracted
            status, error, retries = "success", None, outcome.retries
        except Exception as exc:
            retries = getattr(exc, "retries", 0)
            status, error = "failed", await self._diagnose(page, exc)
        await self._report(
            StepFinished(
                job_id=self.job_id,
                attempt=self.attempt,
                at=now(),
                ordinal=step.ordinal,
                status=status,
                duration_ms=int((time.perf_counter() - started) * 1000),
                retries=retries,
                error=error,
            )
        )
        return status == "success"

    async def _diagnose(self, page: Page, exc: BaseException) -> StepError:
        kind = classify(exc)
        diagnostics: dict[str, Any] = {"console_errors": list(self.console_errors)}
        with contextlib.suppress(Exception):
            diagnostics["url"] = page.url
            diagnostics["title"] = await page.title()
        tried = getattr(exc, "tried", None)
        if tried:
            diagnostics["selectors_tried"] = [
                {
                    "strategy": a.strategy,
                    "query": a.query,
                    "matches": a.matches,
                    "visible": a.visible,
                }
                for a in tried
            ]
        message = str(exc).splitlines()[0][:1000] if str(exc) else type(exc).__name__
        return StepError(kind=kind, message=message, hint=HINTS[kind], diagnostics=diagnostics)
