"""``GET /api/v1/jobs/{id}/approval``: the approval dialog's data, for the person asking."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from msgspec import Struct

WhyNot = Literal["role", "user", "four_eyes", "already_approved", "not_waiting"]


class ApprovalPolicyView(Struct, kw_only=True):
    """The runbook's ``x-runwright.approval``, defaults filled in."""

    roles: list[str]
    """The workspace roles that may decide (the installation's admin token always may)."""
    users: list[str]
    """When not empty, only these people may decide."""
    four_eyes: bool
    """The job's submitter may not approve it."""
    approvals: int
    """Distinct approvals needed; one reject rejects."""


class DecisionEntry(Struct, kw_only=True):
    actor: str
    action: Literal["approve", "reject", "skip"]
    outcome: Literal["counted", "applied", "superseded", "refused"]
    why: str | None = None
    """``refused``: role, user or four_eyes."""
    via: Literal["api", "slack"] = "api"
    at: datetime


class ApprovalView(Struct, kw_only=True):
    job_id: str
    status: str
    """The job's status."""
    version: int
    """Send it as ``If-Match`` when deciding: a decision on a job that moved on is a 409."""
    pending: bool
    """The job waits for this approval now."""
    approval_id: str | None = None
    ordinal: int | None = None
    description: str | None = None
    risk_level: str | None = None
    deadline: datetime | None = None
    submitted_by: str
    policy: ApprovalPolicyView
    required: int
    given: int
    approved_by: list[str]
    """Who approved so far (``user:<email>``, ``key:<name>``, ``admin``)."""
    can_decide: bool
    """Whether the caller may approve now."""
    can_reject: bool
    """Whether the caller may reject or skip now (four eyes only stops approving)."""
    why_not: WhyNot | None = None
    """Why the caller may not approve: their role, not a listed person, four eyes (they
    submitted the job: another person must approve), they approved already, or nothing waits."""
    message: str | None = None
    """``why_not`` as a sentence for the dialog."""
    decisions: list[DecisionEntry] = []
    """Every decision on this approval, refused and superseded ones too, oldest first."""
