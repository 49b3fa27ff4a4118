"""Job events (``runwright.events.<workspace>.<job_id>``). ``seq`` is per job, gap-free and the
SSE id."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct
from runwright_runbook.report import ExecutionReport

from runwright_proto.commands import AwareDatetime
from runwright_proto.jobs import JobStatus, StepStatus
from runwright_proto.reports import StepError


class _Event(Struct, frozen=True, kw_only=True, tag_field="type"):
    job_id: str
    workspace: str = "default"
    """The job's workspace: who may see the event (events recorded before it existed say
    nothing and are the default workspace's)."""
    seq: int
    at: AwareDatetime


class StatusEvent(_Event, tag="status", frozen=True):
    status: JobStatus
    previous: JobStatus | None = None
    reason: str | None = None
    actor: str | None = None


class StepEvent(_Event, tag="step", frozen=True):
    ordinal: int
    status: StepStatus
    description: str = ""
    action_type: str = ""
    duration_ms: int | None = None
    retries: int = 0
    captured: dict[str, Any] = {}
    error: StepError | None = None


class ReportEvent(_Event, tag="report", frozen=True):
    """The execution report, sent just before the terminal status event."""

    report: ExecutionReport


class ArtifactEvent(_Event, tag="artifact", frozen=True):
    """A stored artifact; download it from ``/api/v1/artifacts/<artifact_id>``."""

    artifact_id: str
    kind: str
    name: str
    size: int
    content_type: str
    ordinal: int | None = None


class ApprovalEvent(_Event, tag="approval", frozen=True):
    """An approval was requested before a step (``state: requested``) or decided."""

    approval_id: str
    ordinal: int
    state: Literal[
        "requested", "approved", "rejected", "skipped", "retried", "timed_out", "cancelled"
    ]
    description: str = ""
    risk_level: str = "low"
    captured: dict[str, Any] = {}
    screenshot_artifact_id: str | None = None
    deadline: AwareDatetime | None = None
    actor: str | None = None
    reason: str | None = None
    kind: Literal["approval", "failure"] = "approval"
    """``failure``: the step failed and the job is held for a person (retry, skip or fail)."""
    error: StepError | None = None
    step: dict[str, Any] | None = None
    """``failure``: the step as it ran (placeholders unrendered), to edit for a retry."""


JobEvent = StatusEvent | StepEvent | ReportEvent | ArtifactEvent | ApprovalEvent
