"""Approval decisions: the gateway asks the approval service (``runwright.approval.decide``), which
applies the runbook's approver policy, records the decision, and, when it is final, asks the queue
to apply the transition (``runwright.queue.action``, with the job's version).

The policy is the runbook's ``x-runwright.approval`` (:class:`ApprovalPolicy`); :func:`refusal`
is the one statement of it, used by the approval service to decide and by the gateway to tell the
console whether the caller may decide.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from msgspec import Struct
from runwright_runbook.model import ApprovalPolicy

from runwright_proto import subjects
from runwright_proto.commands import AwareDatetime

DECIDE = subjects.APPROVAL_DECIDE

Decision = Literal["approve", "reject", "skip"]
DECISIONS: tuple[str, ...] = ("approve", "reject", "skip")
Outcome = Literal["counted", "applied", "superseded", "refused"]
"""``counted``: an approval recorded, more are needed; ``applied``: the queue moved the job;
``superseded``: the job moved on first (decided, cancelled, timed out, another version);
``refused``: the policy does not let this actor decide."""
Why = Literal["role", "user", "four_eyes"]
"""Why the policy refused: the actor's role is not listed, the actor is not a listed user, or the
actor submitted the job (four eyes)."""
Via = Literal["api", "slack"]

DEFAULT_ROLES: tuple[str, ...] = ("member", "developer", "admin", "owner")
ALWAYS = "installation"
"""The installation's admin token passes the role check (it is above every workspace role)."""


def policy_of(raw: Any) -> ApprovalPolicy:
    """The runbook's ``x-runwright.approval`` as stored (checked when the job was submitted);
    the default where there is none or it cannot be read."""
    if not raw:
        return ApprovalPolicy()
    try:
        return msgspec.convert(raw, ApprovalPolicy)
    except msgspec.ValidationError:
        return ApprovalPolicy()


def roles_of(policy: ApprovalPolicy) -> tuple[str, ...]:
    return tuple(policy.roles) if policy.roles else DEFAULT_ROLES


def email_of(actor: str) -> str | None:
    """``user:<email>`` → the e-mail address; other actors are not people."""
    return actor.removeprefix("user:").lower() if actor.startswith("user:") else None


def refusal(
    policy: ApprovalPolicy, *, action: str, actor: str, role: str, submitted_by: str | None
) -> tuple[Why, str] | None:
    """Why ``policy`` refuses ``actor`` (of ``role``) deciding ``action``; None: it may."""
    roles = roles_of(policy)
    if role != ALWAYS and role not in roles:
        return "role", f"the runbook lets {', '.join(roles)} decide; you are {role}"
    if policy.users:
        email = email_of(actor)
        if email is None or email not in {u.lower() for u in policy.users}:
            return (
                "user",
                "the runbook names the people who may decide, and you are not one of them",
            )
    if policy.four_eyes and action == "approve" and actor == submitted_by:
        return "four_eyes", "another person must approve: you submitted this job (four eyes)"
    return None


class _Message(Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class Decide(_Message, tag="approval.decide", frozen=True):
    """Gateway to approval: ``actor`` decides the job's pending approval."""

    decision_id: str
    """Chosen by the gateway, once per request: a redelivered request answers what was recorded."""
    job_id: str
    action: Decision
    actor: str
    role: str
    """The actor's role in ``workspace`` (``installation`` for the admin token)."""
    workspace: str
    user_id: str | None = None
    ordinal: int | None = None
    """The step whose approval the person saw; None: whichever is pending."""
    version: int | None = None
    """The job version the person saw (``If-Match``); another is superseded."""
    reason: str | None = None
    request_id: str | None = None
    via: Via = "api"


class DecideReply(_Message, tag="approval.decided", frozen=True):
    """``outcome`` None: no such job in the workspace (a 404)."""

    outcome: Outcome | None
    status: str
    """The job's status after the decision."""
    detail: str | None = None
    why: Why | None = None
    ordinal: int | None = None
    required: int = 1
    given: int = 0
    """Distinct actors who have approved the request (this one included, when counted)."""


class ApprovalTally(Struct, frozen=True, kw_only=True):
    required: int
    given: int


class DecisionView(Struct, frozen=True, kw_only=True):
    actor: str
    action: Decision
    outcome: Outcome
    why: str | None = None
    via: Via = "api"
    at: AwareDatetime
