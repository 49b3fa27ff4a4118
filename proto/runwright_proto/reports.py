"""What an executor reports about a job it runs (stream REPORTS). Fenced by ``attempt``."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct
from runwright_runbook.report import ReportFile

from runwright_proto.commands import AwareDatetime
from runwright_proto.jobs import StepStatus


class StepError(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Why a step failed: its error class, a recovery hint and the evidence."""

    kind: str
    message: str
    hint: str | None = None
    diagnostics: dict[str, Any] = {}


FileRef = ReportFile
"""A file the run produced, as the execution report lists it (one type: ``ReportFile``)."""


class _Report(Struct, frozen=True, kw_only=True, tag_field="type"):
    job_id: str
    attempt: int
    at: AwareDatetime


class StepStarted(_Report, tag="step.started", frozen=True):
    ordinal: int


class StepFinished(_Report, tag="step.finished", frozen=True):
    ordinal: int
    status: StepStatus
    duration_ms: int
    retries: int = 0
    captured: dict[str, Any] = {}
    error: StepError | None = None


class JobFinished(_Report, tag="job.finished", frozen=True):
    status: Literal["completed", "failed"]
    reason: str | None = None
    memory_collections: dict[str, int] = {}
    files: list[FileRef] = []
    artifact_ids: list[str] = []
    """Artifacts this attempt staged; the job finishes once they are stored (or a deadline)."""


Report = StepStarted | StepFinished | JobFinished


def message_id(report: Report) -> str:
    """The ``Nats-Msg-Id`` of a report: one per (job, attempt, step, kind), so retries dedupe."""
    match report:
        case StepStarted() | StepFinished():
            return f"{report.job_id}:{report.attempt}:{report.ordinal}:{type(report).__name__}"
        case JobFinished():
            return f"{report.job_id}:{report.attempt}:job.finished"
