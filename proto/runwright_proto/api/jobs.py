"""Jobs over HTTP: the request that submits one, and the views that describe them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from runwright_proto.control import AVAILABLE
from runwright_proto.limits import MAX_LABEL_BYTES, MAX_LABELS

RUNBOOK_LABEL = "runwright.runbook"
"""Label on every job that ran a stored runbook: its slug (set by the gateway, never by a
caller: labels under ``runwright.`` are reserved)."""
VERSION_LABEL = "runwright.runbook_version"
"""... and the version it ran."""
RESERVED_LABEL_PREFIX = "runwright."

LabelText = Annotated[str, Meta(min_length=1, max_length=MAX_LABEL_BYTES)]
Labels = Annotated[
    dict[LabelText, Annotated[str, Meta(max_length=MAX_LABEL_BYTES)]],
    Meta(max_length=MAX_LABELS, description=f"At most {MAX_LABELS} labels"),
]


class JobRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/jobs``: a job, or a batch run when ``data`` has rows."""

    runbook: str | dict[str, Any] | None = None
    """The runbook as YAML text or as a JSON object (or name a stored one with
    ``runbook_ref``)."""
    runbook_ref: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    """A stored runbook of the workspace: ``<slug>`` runs its published version, ``<slug>@<n>``
    version n."""
    variables: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    priority: int | None = None
    title: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    labels: Labels = {}
    data: list[Any] | str | None = None
    """Batch rows: a list of objects, or CSV text with a header line."""
    screenshots: bool | None = None
    video: bool | None = None
    approval_timeout_s: Annotated[float, Meta(gt=0, le=7 * 24 * 3600)] | None = None
    run_at: Annotated[datetime, Meta(tz=True)] | None = None
    on_executor_loss: Literal["fail", "requeue"] | None = None
    on_failure: Literal["fail", "hold"] | None = None
    """``hold``: a failed step holds the job for a person (``POST …/retry``, ``skip``,
    ``reject``) in the same browser instead of failing it (``x-runwright.onFailure``)."""


class ActionRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/jobs/{id}/{action}``: why (optional, shown in the audit log)."""

    reason: Annotated[str, Meta(max_length=500)] | None = None
    step: dict[str, Any] | None = None
    """``retry`` only: the failed step edited (a changed selector, value or wait), validated like
    any step; the held job runs it in the same browser."""


class StepView(Struct, kw_only=True):
    ordinal: int
    description: str
    """The step's description with the job's shown variable values filled in."""
    description_template: str
    """The description as the runbook wrote it (``{{ variable }}`` placeholders kept)."""
    action_type: str
    status: str
    duration_ms: int | None
    retries: int
    captured: dict[str, Any]
    error: dict[str, Any] | None
    started_at: datetime | None
    finished_at: datetime | None


class Metrics(Struct, kw_only=True):
    total_duration_ms: int | None
    steps_succeeded: int
    steps_failed: int
    retry_count: int


class JobSummary(Struct, kw_only=True):
    id: str
    batch_id: str | None
    title: str
    status: str
    trigger: str
    priority: int
    labels: dict[str, str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    steps_total: int
    steps_done: int
    """Steps that ran to an end (succeeded or failed); skipped ones are not counted."""
    steps_succeeded: int = 0
    """Steps that succeeded (what a progress bar counts as done)."""
    reason: str | None
    last_event_seq: int
    submitted_by: str = "admin"
    """Who submitted it: ``user:<email>``, ``key:<name>``, ``admin`` or ``scheduler``."""
    runbook_slug: str | None = None
    """The stored runbook it ran (``runbook_ref``), when it ran one."""
    runbook_version: int | None = None
    """That runbook's version."""


class ApprovalCount(Struct, kw_only=True):
    required: int
    """Distinct people (or keys) who must approve (the runbook's ``x-runwright.approval``)."""
    given: int
    """How many have approved so far."""


class JobView(JobSummary, kw_only=True):
    version: int
    allowed_actions: list[str]
    """The actions the job's current status allows (``POST /api/v1/jobs/{id}/{action}``)."""
    steps: list[StepView]
    metrics: Metrics
    report: dict[str, Any] | None = None
    variables: dict[str, Any] = {}
    """The values the job was given (not its secrets); a variable the runbook declares
    sensitive reads ``***``."""
    approvals: ApprovalCount | None = None
    """In the answer to approve, reject or skip: the approval's count (a ``202`` answer: it
    was counted and the job still waits for more)."""


def allowed_actions(status: str) -> list[str]:
    """The actions a job in ``status`` allows, in the order of ``AVAILABLE``."""
    return [action for action, statuses in AVAILABLE.items() if status in statuses]


class JobCounts(Struct, kw_only=True):
    total: int
    by_status: dict[str, int]
    capped: bool = False
    """True when a filter matched more jobs than were counted: the figures are lower bounds."""


class JobPage(Struct, kw_only=True):
    items: list[JobSummary]
    next_cursor: str | None


class BatchView(Struct, kw_only=True):
    """``GET /api/v1/batches/{id}``: a batch run and how its jobs ended."""

    id: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    active: int
    finished: bool
    counts: dict[str, int]
    jobs: list[JobSummary]
