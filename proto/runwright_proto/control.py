"""Steering jobs: the actions people take, and what reaches the executor running the job."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct

Action = Literal["approve", "reject", "skip", "retry", "pause", "resume", "cancel"]
ACTIONS: tuple[str, ...] = ("approve", "reject", "skip", "retry", "pause", "resume", "cancel")

# Which statuses allow which action (the Jobs page's table, plus cancel while scheduled/queued).
AVAILABLE: dict[str, tuple[str, ...]] = {
    "approve": ("waiting_for_approval",),
    "reject": ("waiting_for_approval",),
    "skip": ("waiting_for_approval",),
    "retry": ("waiting_for_approval",),
    "pause": ("running",),
    "resume": ("paused",),
    "cancel": ("scheduled", "queued", "running", "paused", "waiting_for_approval"),
}


class _Message(Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class JobAction(_Message, tag="job.action", frozen=True):
    """Gateway to queue (``runwright.queue.action``): a person's action on a job."""

    job_id: str
    action: Action
    actor: str
    reason: str | None = None
    request_id: str | None = None
    version: int | None = None
    """The job version the person saw (``If-Match``); a different one is refused."""
    step: dict[str, Any] | None = None
    """``retry``: the edited step (validated by the gateway) to run instead of the failed one."""


class ActionReply(_Message, tag="job.acted", frozen=True):
    """``applied`` is False when the job's status did not allow the action (a 409)."""

    applied: bool
    status: str
    previous: str | None = None
    detail: str | None = None


class Control(_Message, tag="job.control", frozen=True):
    """Queue to the executor running the job (core NATS ``runwright.control.<job_id>``)."""

    job_id: str
    attempt: int
    command: Literal["pause", "resume", "cancel", "approve", "reject", "skip", "retry"]
    actor: str | None = None
    reason: str | None = None
    step: dict[str, Any] | None = None
    """``retry``: the edited step to run instead of the one that failed (None: the same)."""


class JobState(_Message, tag="job.state", frozen=True):
    """Executor to queue (``runwright.queue.state``), polled while waiting: what to do now."""

    job_id: str
    attempt: int
    ordinal: int | None = None
    """The step whose approval the executor waits for; only that approval's decision counts."""
    kind: Literal["approval", "failure"] = "approval"
    round: int = 0
    """With ``kind``: which hold of the step (a failure held again after a retry is the next
    round); only its decision counts."""


class JobStateReply(_Message, tag="job.state.reply", frozen=True):
    status: str
    attempt: int
    decision: Literal["approve", "reject", "skip", "retry"] | None = None
    actor: str | None = None
    reason: str | None = None
    step: dict[str, Any] | None = None
    """With ``retry``: the edited step, if any."""
