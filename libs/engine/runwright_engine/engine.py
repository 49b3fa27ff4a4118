"""Running a runbook in a browser context: the documented flow, step by step.

Open a page at ``metadata.startUrl``; for each step: the observer's ``before_step`` (where pause,
cancel and approval hook in), resolve the selector, act, capture, run memory operations, wait
``pauseBetweenSteps``. A failed step stops the run under ``stopOnError``; the rest are skipped.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page
from runwright_common import redaction
from runwright_common.logging import get_logger
from runwright_proto.reports import StepError
from runwright_runbook.model import Runbook, Step, action_type
from runwright_runbook.numbering import step_label
from runwright_runbook.variables import ENV_PREFIX, interpolate

from runwright_engine import memory as memory_ops
from runwright_engine.actions import ActionContext, FastPath, Outcome, absolute_url, perform
from runwright_engine.attempts import attempts
from runwright_engine.captures import CaptureFailed, capture_value, is_empty
from runwright_engine.diagnostics import diagnose, step_screenshot
from runwright_engine.egress.guard import EgressBlocked, Violations, check_navigation
from runwright_engine.errors import HINTS, TEMPLATE_HINT
from runwright_engine.files import FileRecord, record, unique_path
from runwright_engine.navigation import NavigationWatch
from runwright_engine.outcomes import (
    Held,
    Observer,
    RunOutcome,
    StepRejected,
    StepResult,
    StepSkipped,
)
from runwright_engine.plugins import AiProvider
from runwright_engine.pressure import Pressure
from runwright_engine.rendering import masked_description, names_used, render_step
from runwright_engine.screencast import Screencast
from runwright_engine.spans import step_span
from runwright_engine.templates import TemplateError
from runwright_engine.values import hidden_names, resolve_late, resolve_values, secret_values
from runwright_engine.video import VideoRecorder

log = get_logger("runwright.engine")
BLANK = "about:blank"
__all__ = [
    "Engine",
    "Held",
    "Observer",
    "RunOutcome",
    "StepRejected",
    "StepResult",
    "StepSkipped",
]


class Engine:
    def __init__(
        self,
        context: BrowserContext,
        runbook: Runbook,
        *,
        variables: Mapping[str, Any] | None = None,
        secrets: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        files_dir: Path,
        observer: Observer | None = None,
        ai: AiProvider | None = None,
        env: Mapping[str, str] | None = None,
        env_prefix: str = ENV_PREFIX,
        screenshots: bool = False,
        max_download_bytes: int | None = None,
        video: bool = False,
        egress: Violations | None = None,
        pressure: Pressure | None = None,
        hold_on_failure: bool = False,
    ) -> None:
        self.hold_on_failure = hold_on_failure
        """A failed step waits for a person (``Observer.held``) instead of failing the run."""
        self.video = video
        self.pressure = pressure
        """Stretches each step's timeouts while the host is short of CPU (None: never)."""
        self.egress = egress or Violations()
        """Egress blocks not yet reported (the executor's proxy adds to it; non-web frames too)."""
        self.screencast: Screencast | None = None
        self.context, self.runbook, self.files_dir = context, runbook, files_dir
        self.screenshots = screenshots
        self.max_download_bytes = max_download_bytes
        self.observer = observer or Observer()
        self.ai = ai
        self._secrets = dict(secrets or {})
        self.values, self._late = resolve_values(
            runbook,
            variables or {},
            self._secrets,
            data=data,
            env=os.environ if env is None else env,
            env_prefix=env_prefix,
        )
        self._failed_variables: dict[str, str] = {}
        self.memory: dict[str, list[Any]] = {}
        self.console: list[str] = []
        self.files: list[FileRecord] = []
        self.fast_path = FastPath()
        self.navigations: NavigationWatch | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return secret_values(self.runbook, self.values, self._secrets)

    async def run(self) -> RunOutcome:
        started = time.perf_counter()
        page = await self._open_page()
        recorder = (
            VideoRecorder(self.screencast) if self.video and self.screencast is not None else None
        )
        if recorder is not None:
            await recorder.start()
        await self._go_to_start(page)
        self._failed_variables = await resolve_late(
            self.runbook, self._late, self.values, page, self.ai
        )
        redaction.register(self.secrets)
        try:
            results = await self._steps(page)
            if recorder is not None:
                await self._finish_video(recorder)
                recorder = None
        finally:
            redaction.unregister(self.secrets)
            if recorder is not None:
                await recorder.discard()
            if self.screencast is not None:
                await self.screencast.close()
        failed = any(r.status == "failed" for r in results)
        return RunOutcome(
            status="failed" if failed else "completed",
            results=results,
            memory=self.memory,
            files=self.files,
            duration_ms=int((time.perf_counter() - started) * 1000),
            reason="a step failed" if failed else None,
        )

    async def _open_page(self) -> Page:
        self.context.on("page", self.egress.watch)
        # A spare context comes with its blank page made; otherwise make one now.
        page = self.context.pages[0] if self.context.pages else await self.context.new_page()
        self.egress.watch(page)
        page.on("console", lambda m: self._console(m.type, m.text))
        page.on("pageerror", lambda e: self._console("pageerror", str(e)))
        self.navigations = NavigationWatch(page)
        self.screencast = Screencast(page)
        await self.observer.page_opened(page, self.screencast)
        return page

    async def _go_to_start(self, page: Page) -> None:
        """``metadata.startUrl`` (else the first step's url), rendered with the values known."""
        start = self.runbook.metadata.start_url or (self.runbook.steps[0].url or "")
        if not start:
            return
        try:
            url = absolute_url(self.runbook, interpolate(start, self.values), self.values)
            check_navigation(url)
            if url == BLANK and page.url == BLANK:
                return  # a fresh page is blank already: a navigation would only cost time
            await page.goto(url, timeout=self._timeout())
        except EgressBlocked as blocked:
            self.egress.add(str(blocked))  # the first step fails with it
        except Exception as exc:  # the first step fails on the page it finds, with its error
            log.info("start URL not loaded", error=type(exc).__name__)

    async def _steps(self, page: Page) -> list[StepResult]:
        settings = self.runbook.settings
        results: list[StepResult] = []
        failed = False
        for step in self.runbook.steps:
            with step_span(step) as traced:
                if failed and settings.stop_on_error:
                    results.append(self._skipped(step))
                    traced(results[-1])
                    continue
                try:
                    await self.observer.before_step(step)
                except (StepSkipped, StepRejected) as decision:
                    result = await self._decided(step, decision)
                else:
                    result = await self._run_step(page, step)
                    if result.status == "failed" and self.hold_on_failure:
                        result = await self._held(page, step, result)
                traced(result)
            results.append(result)
            failed = failed or result.status == "failed"
            if settings.pause_between_steps and step is not self.runbook.steps[-1]:
                await asyncio.sleep(settings.pause_between_steps / 1000)
        return results

    async def _held(self, page: Page, step: Step, result: StepResult) -> StepResult:
        """A failed step held for a person, in the same page: run it again (as it was, or as
        they edited it) until it succeeds or they skip it or fail the job."""
        round_ = 0
        while result.status == "failed":
            answer = await self.observer.held(step, result, round_)
            round_ += 1
            if answer.verdict == "skip":
                result.status = "skipped"
                return result
            if answer.verdict != "retry":
                return result
            if answer.step is not None:
                step = answer.step
            result = await self._run_step(page, step)
        return result

    async def _finish_video(self, recorder: VideoRecorder) -> None:
        path = unique_path(self.files_dir / "videos", "run.webm")
        info = await recorder.finish(path)
        if info is not None:
            video = record("video", path, None)
            self.files.append(video)
            await self.observer.file_ready(video)

    async def _decided(self, step: Step, decision: Exception) -> StepResult:
        result = self._skipped(step)
        if isinstance(decision, StepRejected):
            result.status = "failed"
            result.error = StepError(
                kind="Rejected",
                message=str(decision),
                hint="A person rejected this step at its approval.",
            )
        await self.observer.step_finished(step, result)
        return result

    def describe(self, step: Step) -> str:
        """The step's description rendered with the values known now, secrets masked."""
        hidden = hidden_names(self.runbook, self._secrets)
        return masked_description(step, self.values, hidden, self.secrets)

    def _skipped(self, step: Step) -> StepResult:
        return StepResult(step.ordinal, self.describe(step), action_type(step.action), "skipped")

    def _console(self, kind: str, text: str) -> None:
        if kind in ("error", "pageerror"):
            self.console.append(redaction.mask_text(text[:500], self.secrets))
            del self.console[:-20]

    async def _run_step(self, page: Page, step: Step) -> StepResult:
        description = self.describe(step)
        await self.observer.step_started(step, description)
        result = StepResult(step.ordinal, description, action_type(step.action), "success")
        began = time.perf_counter()
        rendered = render_step(step, self.values)
        try:
            self._check_variables(step)
            await self._act(page, rendered, result)
            self.egress.raise_any()
        except Exception as failure:
            exc = self.egress.take() or failure
            result.status = "failed"
            result.retries = max(result.retries, getattr(exc, "retries", 0))
            result.error, shot = await self._diagnose(page, rendered, exc)
            if shot is not None:
                result.files.append(shot)
        result.duration_ms = int((time.perf_counter() - began) * 1000)
        if self.screenshots and result.status == "success":
            shot = await step_screenshot(page, self.files_dir, step.ordinal)
            if shot is not None:
                result.files.append(shot)
        result.captured = redaction.redact(result.captured, self.secrets)
        self.files += result.files
        for produced in result.files:
            await self.observer.file_ready(produced)
        await self.observer.step_finished(step, result)
        return result

    def _timeout(self) -> int:
        """The runbook's timeout, as long as the page needs to get that much CPU time now."""
        timeout = self.runbook.settings.default_timeout
        return timeout if self.pressure is None else self.pressure.stretch(timeout)

    def _check_variables(self, step: Step) -> None:
        """A step that uses an ``expression`` variable that could not be computed fails."""
        for name in sorted(names_used(step) & self._failed_variables.keys()):
            raise TemplateError(f"{step_label(step.ordinal)}: {self._failed_variables[name]}")

    async def _act(self, page: Page, step: Step, result: StepResult) -> None:
        """The rendered step's action, then its captures and memory operations."""
        timeout = self._timeout()
        context = ActionContext(
            page=page,
            runbook=self.runbook,
            values=self.values,
            memory=self.memory,
            timeout_ms=timeout,
            files_dir=self.files_dir,
            ordinal=step.ordinal,
            ai=self.ai,
            fast=self.fast_path,
            max_download_bytes=self.max_download_bytes,
            step_timeout_ms=timeout,
            navigations=self.navigations,
        )
        outcome: Outcome = await asyncio.wait_for(
            perform(context, step.action), timeout=timeout / 1000 + 10
        )
        result.retries, result.strategy = outcome.retries, outcome.strategy
        result.files += outcome.files
        if outcome.extracted is not None:
            self.values["__extracted"] = outcome.extracted
        await self._captures(page, step, result)
        self._memory(step, result)

    async def _captures(self, page: Page, step: Step, result: StepResult) -> None:
        for capture in step.captures:
            try:
                value = await capture_value(page, capture, self.values, self.ai)
            except TemplateError as exc:
                where = f"{step_label(step.ordinal)}, capture `{capture.name}`"
                raise TemplateError(f"{where}: {exc}") from exc
            if capture.required and is_empty(value):
                raise CaptureFailed(f"required capture `{capture.name}` is empty")
            result.captured[capture.name] = value
            self.values[capture.name] = value

    def _memory(self, step: Step, result: StepResult) -> None:
        for operation in step.memory_operations:
            output = memory_ops.apply(operation, self.memory, self.values)
            if output is not None:
                name, value = output
                self.values[name] = value
                result.captured[name] = value

    async def _diagnose(
        self, page: Page, step: Step, exc: BaseException
    ) -> tuple[StepError, FileRecord | None]:
        if isinstance(exc, CaptureFailed | memory_ops.MemoryError_ | TemplateError):
            template = isinstance(exc, TemplateError)
            return StepError(
                kind="Unknown" if template else "Action failed",
                message=redaction.mask_text(str(exc), self.secrets),
                hint=TEMPLATE_HINT if template else HINTS["Action failed"],
                diagnostics={"url": page.url, "attempts": attempts(exc, step.action)},
            ), None
        error, shot = await diagnose(
            page, step.action, exc, self.console, self.files_dir, step.ordinal
        )
        masked = redaction.redact(
            {"message": error.message, "diagnostics": error.diagnostics}, self.secrets
        )
        return StepError(
            kind=error.kind,
            message=masked["message"],
            hint=error.hint,
            diagnostics=masked["diagnostics"],
        ), shot
