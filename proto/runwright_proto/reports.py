"""What an executor reports about a job it runs (stream REPORTS). Fenced by ``attempt``.

Every change an executor causes reaches the queue on this one path, in the order it happened:
each report of an attempt carries the next ``seq`` (1, 2, 3, …) and the queue applies report ``n``
only after report ``n - 1``. An approval request is a report too, so it can never overtake the
step reports before it.
"""

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
    seq: int = 0
    """This report's place in its attempt (1, 2, 3, …); 0 only from executors that predate it,
    whose reports are applied as they come."""


class StepStarted(_Report, tag="step.started", frozen=True):
    ordinal: int
    description: str | None = None
    """The step's description rendered at the moment it started (secrets masked)."""


class StepFinished(_Report, tag="step.finished", frozen=True):
    ordinal: int
    status: StepStatus
    duration_ms: int
    retries: int = 0
    captured: dict[str, Any] = {}
    error: StepError | None = None
    description: str | None = None
    """The rendered description (for a step a person skipped or rejected before it started)."""


class ApprovalRequested(_Report, tag="approval.requested", frozen=True):
    """Hold the job before step ``ordinal`` for a person's decision. Applied only once the
    reports before it are, and announced once its evidence screenshot is stored."""

    ordinal: int
    description: str
    risk_level: str
    captured: dict[str, Any] = {}
    screenshot_artifact_id: str | None = None
    timeout_s: float = 300
    kind: Literal["approval", "failure"] = "approval"
    """``failure``: step ``ordinal`` failed and the job is held for a person to retry it (as it
    was or edited), skip it or fail the job, in the same browser."""
    round: int = 0
    """How many times this step was held before (each retry that fails again holds anew)."""
    error: StepError | None = None
    """The failure that held the job."""
    step: dict[str, Any] | None = None
    """``failure``: the step as it ran (as the runbook writes it, placeholders unrendered), for
    the person who edits it."""


class JobReleased(_Report, tag="job.released", frozen=True):
    """A stopping executor hands back a job it cannot finish (its loss policy applies)."""

    executor_id: str
    reason: str = "executor stopped"


class JobFinished(_Report, tag="job.finished", frozen=True):
    status: Literal["completed", "failed"]
    reason: str | None = None
    memory_collections: dict[str, int] = {}
    files: list[FileRef] = []
    artifact_ids: list[str] = []
    """Artifacts this attempt staged; the job finishes once they are stored (or a deadline)."""


Report = StepStarted | StepFinished | ApprovalRequested | JobReleased | JobFinished


def message_id(report: Report) -> str:
    """The ``Nats-Msg-Id`` of a report: one per (job, attempt, step, kind), so retries dedupe;
    a report on the ordered path adds its number, since a step held on failure and retried is
    reported again (a new start, a new end, a new hold)."""
    match report:
        case StepStarted() | StepFinished() | ApprovalRequested():
            kind = type(report).__name__
            numbered = f":{report.seq}" if report.seq else ""
            return f"{report.job_id}:{report.attempt}:{report.ordinal}:{kind}{numbered}"
        case JobReleased():
            return f"{report.job_id}:{report.attempt}:job.released"
        case JobFinished():
            return f"{report.job_id}:{report.attempt}:job.finished"
