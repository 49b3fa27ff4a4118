"""Request/reply messages between services. Every reply may instead be an :class:`ErrorReply`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct
from runwright_runbook.model import Runbook

from runwright_proto.jobs import JobStatus, Trigger

AwareDatetime = Annotated[datetime, Meta(tz=True)]


class _Message(Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class StepSpec(Struct, frozen=True, kw_only=True):
    ordinal: int
    description: str
    action_type: str


class JobOptions(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """How a job runs, from the request and the runbook's ``x-runwright`` (request wins)."""

    screenshots: bool = False
    video: bool = False
    approval_timeout_s: float | None = None
    on_executor_loss: Literal["fail", "requeue"] = "fail"
    on_failure: Literal["fail", "hold"] = "fail"
    """``hold``: a failed step waits for a person (retry, retry edited, skip, fail)."""


class SubmitJob(_Message, tag="job.submit", frozen=True):
    job_id: str
    title: str
    runbook: Runbook
    steps: list[StepSpec]
    variables: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    priority: int = 0
    trigger: Trigger = "api"
    workspace: str = "default"
    submitted_by: str = "admin"
    labels: dict[str, str] = {}
    batch_id: str | None = None
    data: dict[str, Any] | None = None
    options: JobOptions = JobOptions()
    run_at: AwareDatetime | None = None
    """Stay ``scheduled`` until then; the queue service releases the job when it is due."""


class SetWorkspaceLimits(_Message, tag="workspace.limits.set", frozen=True):
    """A workspace's own limits; ``None`` for the installation's default."""

    workspace: str
    actor: str
    concurrency: int | None = None
    """Jobs running at once in the workspace."""
    max_queued: int | None = None
    """Jobs waiting (queued or scheduled) in the workspace; past it a submission is a 429."""


class WorkspaceLimitsReply(_Message, tag="workspace.limits", frozen=True):
    workspace: str
    concurrency: int | None
    max_queued: int | None
    updated_by: str
    updated_at: AwareDatetime


class SubmitBatch(_Message, tag="batch.submit", frozen=True):
    """All jobs of a batch run (one per data row), recorded together or not at all."""

    batch_id: str
    jobs: list[SubmitJob]


class SubmitBatchReply(_Message, tag="batch.submitted", frozen=True):
    batch_id: str
    job_ids: list[str]
    created: bool
    rejected: str | None = None
    retry_after_s: int | None = None


class SubmitReply(_Message, tag="job.submitted", frozen=True):
    job_id: str
    status: JobStatus | Literal["rejected"]
    created: bool
    reason: str | None = None
    retry_after_s: int | None = None
    created_at: datetime | None = None
    """When ``created``: the row's ``created_at``, so the caller can show the new job as it was
    recorded without reading it back."""
    version: int | None = None
    """When ``created``: the row's first version."""


class DispatchJob(_Message, tag="job.dispatch", frozen=True):
    """Published on the DISPATCH stream when a job becomes ready; the executor then claims it."""

    job_id: str
    priority: int = 0


class ClaimJob(_Message, tag="job.claim", frozen=True):
    job_id: str
    executor_id: str
    lease_ms: int
    claim_id: str = ""
    """A fresh UUID per claim the executor makes, the same on each try of it: a try whose reply
    was lost is answered again with the same grant (same job and attempt), not a second job.
    Empty (an executor of an earlier release): every request is a new claim."""


NOTHING_QUEUED = "nothing queued"
"""A claim's refusal ``reason`` when no job is waiting."""
CONCURRENCY_LIMIT = "the workspace is at its concurrency limit"
"""A claim's refusal ``reason`` when jobs wait but their workspace runs as many as it may: the
executor backs off instead of asking again at once."""


class ClaimReply(_Message, tag="job.claimed", frozen=True):
    """``reason`` (when not granted) is ``NOTHING_QUEUED``, ``CONCURRENCY_LIMIT``, or why the
    job's transition to running was refused."""

    granted: bool
    job_id: str
    attempt: int = 0
    reason: str | None = None
    runbook: Runbook | None = None
    variables: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    data: dict[str, Any] | None = None
    options: JobOptions = JobOptions()
    workspace: str = ""
    """The claimed job's workspace (the executor labels its metrics with it)."""
    trace: dict[str, str] = {}
    """The claimed job's W3C trace context (``traceparent``, ``baggage``…): its run joins the
    job's trace."""


class RenewLease(_Message, tag="lease.renew", frozen=True):
    job_id: str
    attempt: int
    executor_id: str
    lease_ms: int


class RenewReply(_Message, tag="lease.renewed", frozen=True):
    ok: bool
    reason: str | None = None


RENEW_BATCH = 500
"""Jobs named in one `RenewLeases` at most: an executor with more sends several (500 jobs make a
request of about 35 kB, far below NATS' default 1 MB payload limit)."""


class JobLease(Struct, frozen=True, kw_only=True):
    """One running job whose lease an executor renews: the attempt it holds."""

    job_id: str
    attempt: int


class RenewLeases(_Message, tag="leases.renew", frozen=True):
    """Renew the leases of many running jobs of one executor at once (one request and one
    statement per period instead of one per job). Each job keeps its lease only for the attempt
    named here, as with `RenewLease`."""

    executor_id: str
    lease_ms: int
    jobs: list[JobLease]


class LostLease(Struct, frozen=True, kw_only=True):
    job_id: str
    reason: str


class RenewLeasesReply(_Message, tag="leases.renewed", frozen=True):
    """Every job of the request not named in ``lost`` holds its lease for ``lease_ms`` more;
    those named must stop running (another attempt holds the job, or it ended)."""

    lost: list[LostLease] = []


class HealthReply(_Message, tag="health", frozen=True):
    service: str
    instance: str
    ready: bool
    checks: dict[str, str] = {}
    counters: dict[str, int] = {}
    """Totals since the instance started (the executor's ``egress_blocked``, for instance)."""


class ErrorReply(_Message, tag="error", frozen=True):
    error: str
    retryable: bool = False
