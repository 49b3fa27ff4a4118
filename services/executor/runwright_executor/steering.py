"""What the executor does when people steer a job: pause at the next step boundary, wait for an
approval (with a screenshot and the captured values as evidence), cancel at once.

Control messages arrive on core NATS; while waiting, the executor also asks the queue every second,
so a lost message delays a decision by a second at most.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from playwright.async_api import Page
from runwright_bus import decode, request
from runwright_common.logging import get_logger, logged_failure
from runwright_engine.diagnostics import step_screenshot
from runwright_engine.engine import Held, StepRejected, StepResult, StepSkipped
from runwright_engine.files import FileRecord
from runwright_proto import subjects
from runwright_proto.control import Control, JobState, JobStateReply
from runwright_proto.jobs import TERMINAL
from runwright_proto.reports import ApprovalRequested, Report
from runwright_runbook.model import Step

log = get_logger("runwright.executor.steering")
POLL_S = 1.0
DEFAULT_APPROVAL_TIMEOUT_S = 300.0


class JobStopped(Exception):
    pass


class Steering:
    def __init__(
        self,
        nc: Client,
        job_id: str,
        attempt: int,
        *,
        on_cancel: Callable[[], None],
        report: Callable[[Report], Awaitable[None]],
        approval_timeout_s: float | None,
    ) -> None:
        self.nc, self.job_id, self.attempt = nc, job_id, attempt
        self.on_cancel = on_cancel
        self.report = report
        self.waiting_for: int | None = None
        self.waiting_kind: Literal["approval", "failure"] = "approval"
        self.waiting_round = 0
        self.approval_timeout_s = approval_timeout_s or DEFAULT_APPROVAL_TIMEOUT_S
        self.running = asyncio.Event()
        self.running.set()
        self.steered = 0  # pause and resume messages seen; a poll answered across one is stale
        self.decision: asyncio.Future[Control] | None = None
        self.page: Page | None = None
        self.captured: dict[str, Any] = {}
        self._sub: Subscription | None = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(subjects.control(self.job_id), cb=self._on_control)

    async def stop(self) -> None:
        if self._sub is not None:
            with logged_failure(log, "control subscription not closed", job_id=self.job_id):
                await self._sub.unsubscribe()

    async def _on_control(self, msg: Msg) -> None:
        try:
            command: Control = decode(msg.data, Control)
        except Exception as exc:
            log.warning("undecodable control message ignored", job_id=self.job_id, error=repr(exc))
            return
        if command.attempt != self.attempt:
            return
        log.info("control", job_id=self.job_id, command=command.command, actor=command.actor)
        match command.command:
            case "pause":
                self.steered += 1
                self.running.clear()
            case "resume":
                self.steered += 1
                self.running.set()
            case "cancel":
                self.on_cancel()
            case _:
                if self.decision is not None and not self.decision.done():
                    self.decision.set_result(command)

    async def _state(self) -> JobStateReply | None:
        try:
            reply: JobStateReply = await request(
                self.nc,
                subjects.STATE,
                JobState(
                    job_id=self.job_id,
                    attempt=self.attempt,
                    ordinal=self.waiting_for,
                    kind=self.waiting_kind,
                    round=self.waiting_round,
                ),
                JobStateReply,
                timeout=POLL_S,
            )
        except Exception as exc:
            log.info("job state not read; asking again", job_id=self.job_id, error=repr(exc))
            return None
        return reply

    async def wait_while_paused(self) -> None:
        while not self.running.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.running.wait(), POLL_S)
                return
            steered = self.steered
            state = await self._state()
            if state is not None and state.status in TERMINAL:
                raise JobStopped(state.status)
            # A pause that arrived while the queue was being asked may be newer than its answer.
            if state is not None and state.status == "running" and steered == self.steered:
                self.running.set()

    async def approve(
        self, step: Step, description: str, stage: Callable[[FileRecord], Any], files_dir: Any
    ) -> None:
        """Ask for approval before ``step``; return to run it, or raise skip/reject/stop."""
        verdict, actor, reason, _ = await self._ask(
            step, stage, files_dir, kind="approval", round_=0, description=description
        )
        if verdict == "skip":
            raise StepSkipped(f"skipped by {actor}")
        if verdict == "reject":
            raise StepRejected(f"rejected by {actor}" + (f": {reason}" if reason else ""))

    async def _ask(
        self,
        held: Step,
        stage: Callable[[FileRecord], Any],
        files_dir: Any,
        *,
        kind: Literal["approval", "failure"],
        round_: int,
        **fields: Any,
    ) -> tuple[str, str | None, str | None, dict[str, Any] | None]:
        """Hold the job for a person's decision about step ``held`` and wait for it.

        The request is a report: it reaches the queue after the reports of the steps before it,
        and after the evidence screenshot (the page as it is now) was handed over."""
        shot_id = None
        if self.page is not None:
            label = "approval" if kind == "approval" else f"held-{round_}"
            shot = await step_screenshot(self.page, files_dir, held.ordinal, label)
            if shot is not None:
                shot_id = await stage(shot)
        self.decision = asyncio.get_running_loop().create_future()
        self.waiting_for, self.waiting_kind, self.waiting_round = held.ordinal, kind, round_
        await self.report(
            ApprovalRequested(
                job_id=self.job_id,
                attempt=self.attempt,
                at=datetime.now(UTC),
                ordinal=held.ordinal,
                risk_level=held.risk_level,
                captured=dict(self.captured),
                screenshot_artifact_id=shot_id,
                timeout_s=self.approval_timeout_s,
                kind=kind,
                round=round_,
                **fields,
            )
        )
        try:
            return await self._verdict()
        finally:
            self.decision, self.waiting_for = None, None
            self.waiting_kind, self.waiting_round = "approval", 0

    async def _verdict(self) -> tuple[str, str | None, str | None, dict[str, Any] | None]:
        """(command, actor, reason, edited step) of the decision, from the control message or,
        if that was lost, from the queue."""
        assert self.decision is not None
        while True:
            with contextlib.suppress(TimeoutError):
                command = await asyncio.wait_for(asyncio.shield(self.decision), POLL_S)
                return command.command, command.actor, command.reason, command.step
            state = await self._state()
            if state is None:
                continue
            if state.status in TERMINAL:
                raise JobStopped(state.status)
            if state.decision is not None and state.status == "running":
                return state.decision, state.actor, state.reason, state.step

    async def hold(
        self,
        step: Step,
        result: StepResult,
        round_: int,
        stage: Callable[[FileRecord], Any],
        files_dir: Any,
    ) -> Held:
        """The step failed and the job holds failures: report it, wait for a person, and
        answer what they chose."""
        verdict, actor, _, edited = await self._ask(
            step,
            stage,
            files_dir,
            kind="failure",
            round_=round_,
            description=result.description,
            error=result.error,
            step=msgspec.to_builtins(step),
        )
        log.info("held failure answered", job_id=self.job_id, verdict=verdict, actor=actor)
        if verdict == "retry":
            return Held("retry", edited_step(step, edited))
        return Held("skip" if verdict == "skip" else "fail")


def edited_step(step: Step, edited: dict[str, Any] | None) -> Step | None:
    """The edited step to run in place of ``step`` (same ordinal); None: run it as it was."""
    if edited is None:
        return None
    try:
        return msgspec.convert({**edited, "ordinal": step.ordinal}, Step)
    except msgspec.ValidationError as exc:  # the gateway validated it: log and keep the old
        log.warning("edited step not usable; retrying the step as it was", error=str(exc))
        return None
