"""What a run reports: each step's result, the run's outcome, and the hooks an observer gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from playwright.async_api import Page
from runwright_proto.jobs import StepStatus
from runwright_proto.reports import StepError
from runwright_runbook.model import Step

from runwright_engine.files import FileRecord
from runwright_engine.screencast import Screencast


class StepSkipped(Exception):
    """Raised by ``before_step``: a person chose to skip this step; the run goes on."""


class StepRejected(Exception):
    """Raised by ``before_step``: a person rejected this step; it fails."""


@dataclass
class StepResult:
    ordinal: int
    description: str
    action_type: str
    status: StepStatus
    duration_ms: int = 0
    retries: int = 0
    captured: dict[str, Any] = field(default_factory=dict)
    error: StepError | None = None
    files: list[FileRecord] = field(default_factory=list)
    strategy: str | None = None


@dataclass
class RunOutcome:
    status: Literal["completed", "failed"]
    results: list[StepResult]
    memory: dict[str, list[Any]]
    files: list[FileRecord]
    duration_ms: int
    reason: str | None = None


@dataclass(frozen=True)
class Held:
    """A person's answer to a held failure: run the step again (``step``: edited, or None for
    the same), skip it, or fail the job."""

    verdict: Literal["retry", "skip", "fail"]
    step: Step | None = None


class Observer:
    """Hooks the engine calls; the executor reports over NATS, the CLI draws progress."""

    async def held(self, step: Step, result: StepResult, round_: int) -> Held:
        """A step failed and the job holds failures: wait for a person's answer. Without
        anyone to ask, the failure stands."""
        del step, result, round_
        return Held("fail")

    async def before_step(self, step: Step) -> None:
        """Called at each step boundary: wait (pause, approval) or raise to stop the run."""

    async def step_started(self, step: Step, description: str) -> None:
        pass

    async def step_finished(self, step: Step, result: StepResult) -> None:
        pass

    async def file_ready(self, record: FileRecord) -> None:
        """A file the run produced is complete on disk (hand it over while the run goes on)."""

    async def page_opened(self, page: Page, screencast: Screencast) -> None:
        """The run's page exists; ``screencast`` streams it when someone acquires it."""
