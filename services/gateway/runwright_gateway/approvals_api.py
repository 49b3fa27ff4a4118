"""Approvals over HTTP: approve, reject and skip go to the approval service (which applies the
runbook's approver policy and asks the queue), the approval dialog's data, and Slack's Approve and
Reject buttons.

Answers to a decision: ``200`` with the job (applied), ``202`` with the job still waiting and
``approvals: {required, given}`` (counted; more approvals are needed), ``403`` naming why the
policy refuses (``why``: role, user, four_eyes), ``409`` when the job moved on first (cancelled,
timed out, already decided, another version), recorded as superseded.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid
from typing import Annotated, Any
from urllib.parse import parse_qs
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from msgspec import Meta, Struct
from runwright_bus import request as nats_request
from runwright_proto.api.approvals import (
    ApprovalPolicyView,
    ApprovalView,
    DecisionEntry,
    WhyNot,
)
from runwright_proto.api.jobs import ApprovalCount, JobView
from runwright_proto.approvals import (
    DECIDE,
    Decide,
    DecideReply,
    policy_of,
    refusal,
    roles_of,
)
from runwright_proto.webhooks import SLACK_APPROVE, SLACK_REJECT

from runwright_gateway import audit, slack_update, views
from runwright_gateway.auth import Principal, authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.permissions import Role
from runwright_gateway.problems import Problem, not_found
from runwright_gateway.responses import answers, problems, typed

SLACK_MAX_AGE_S = 300
"""Slack interactions older than this are refused (a replayed request)."""


async def send_decision(
    request: Request[Any, Any, Any],
    who: Principal,
    job_id: UUID,
    action: str,
    *,
    version: int | None = None,
    reason: str | None = None,
    ordinal: int | None = None,
    via: str = "api",
    decision_id: str | None = None,
) -> DecideReply:
    state = request.app.state
    reply: DecideReply = await nats_request(
        state.nc,
        DECIDE,
        Decide(
            decision_id=decision_id or str(uuid.uuid4()),
            job_id=str(job_id),
            action=action,  # type: ignore[arg-type]
            actor=who.actor,
            role=who.role.label,
            workspace=who.workspace,
            user_id=str(who.user_id) if who.user_id else None,
            ordinal=ordinal,
            version=version,
            reason=reason,
            request_id=request.headers.get("x-request-id"),
            via=via,  # type: ignore[arg-type]
        ),
        DecideReply,
        timeout=state.settings.request_timeout_s * 2,
    )
    return reply


async def decide(
    request: Request[Any, Any, Any],
    job_id: UUID,
    action: str,
    version: int | None,
    reason: str | None,
) -> Response[JobView]:
    """``POST /api/v1/jobs/{id}/approve|reject|skip``: the approval service decides."""
    who = principal(request)
    reply = await send_decision(request, who, job_id, action, version=version, reason=reason)
    if reply.outcome is None:
        raise not_found(f"job {job_id}")
    if reply.outcome == "refused":
        audit.note(request, outcome="denied", detail={"why": reply.why})
        raise Problem(
            403,
            "Forbidden",
            reply.detail or "the approval policy does not let you decide",
            code="approval_refused",
            why=reply.why,
        )
    if reply.outcome == "superseded":
        raise Problem(
            409,
            "Conflict",
            reply.detail or f"the job is {reply.status}",
            code="conflict",
            job_status=reply.status,
        )
    job = await views.get_job(request.app.state.pool, job_id, who.workspace)
    assert job is not None
    job = msgspec.structs.replace(
        job, approvals=ApprovalCount(required=reply.required, given=reply.given)
    )
    status = 202 if reply.outcome == "counted" else 200
    return Response(job, status_code=status, headers={"ETag": f'"{job.version}"'})


DECISION_ANSWERS = answers(
    {
        200: typed(JobView, "Applied: the job with its new status"),
        202: typed(
            JobView,
            "Counted: the approval is recorded and the job still waits for more "
            "(``approvals: {required, given}``)",
        ),
    },
    problems(404, 409),
)
"""The act route's answers (403 also when the runbook's approver policy refuses: ``why``)."""


MESSAGES: dict[str, str] = {
    "four_eyes": "Another person must approve: you submitted this job.",
    "already_approved": "You approved already; another person must approve too.",
    "not_waiting": "Nothing waits for approval.",
}


async def approval_view(pool: asyncpg.Pool, job_id: UUID, who: Principal) -> ApprovalView | None:
    """The job's latest approval as the dialog shows it to ``who``."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        job = await conn.fetchrow(
            "SELECT id, status, version, submitted_by, runbook -> 'x-runwright' -> 'approval' "
            "AS policy FROM queue.jobs WHERE id = $1 AND workspace = $2",
            job_id,
            who.workspace,
        )
        if job is None:
            return None
        approval = await conn.fetchrow(
            "SELECT * FROM queue.job_approvals WHERE job_id = $1 "
            "ORDER BY attempt DESC, requested_at DESC LIMIT 1",
            job_id,
        )
        recorded = decisions = None
        if approval is not None:
            recorded = await conn.fetchrow(
                "SELECT policy FROM approval.requests WHERE id = $1", approval["id"]
            )
            decisions = await conn.fetch(
                "SELECT actor, action, outcome, why, via, decided_at FROM approval.decisions "
                "WHERE approval_id = $1 ORDER BY decided_at",
                approval["id"],
            )
    policy = policy_of(recorded["policy"] if recorded else job["policy"])
    entries = [
        DecisionEntry(
            actor=d["actor"],
            action=d["action"],
            outcome=d["outcome"],
            why=d["why"],
            via=d["via"],
            at=d["decided_at"],
        )
        for d in decisions or []
    ]
    given: list[str] = []
    for d in entries:
        if d.action == "approve" and d.outcome in ("counted", "applied") and d.actor not in given:
            given.append(d.actor)
    pending = (
        approval is not None
        and approval["state"] == "requested"
        and job["status"] == "waiting_for_approval"
    )
    role = who.role.label
    why_not: WhyNot | None = None
    message = None
    if not pending:
        why_not = "not_waiting"
    elif found := refusal(
        policy, action="approve", actor=who.actor, role=role, submitted_by=job["submitted_by"]
    ):
        why_not, message = found[0], found[1]
    elif who.actor in given:
        why_not = "already_approved"
    message = MESSAGES.get(why_not or "", message)
    rejects = refusal(
        policy, action="reject", actor=who.actor, role=role, submitted_by=job["submitted_by"]
    )
    return ApprovalView(
        job_id=str(job_id),
        status=job["status"],
        version=job["version"],
        pending=pending,
        approval_id=str(approval["id"]) if approval else None,
        ordinal=approval["ordinal"] if approval else None,
        description=approval["description"] if approval else None,
        risk_level=approval["risk_level"] if approval else None,
        deadline=approval["deadline"] if approval else None,
        submitted_by=job["submitted_by"],
        policy=ApprovalPolicyView(
            roles=list(roles_of(policy)),
            users=list(policy.users),
            four_eyes=policy.four_eyes,
            approvals=policy.approvals,
        ),
        required=policy.approvals,
        given=len(given),
        approved_by=given,
        can_decide=why_not is None,
        can_reject=pending and rejects is None and who.role >= Role.MEMBER,
        why_not=why_not,
        message=message,
        decisions=entries,
    )


class ApprovalController(Controller):
    path = "/api/v1/jobs"
    guards = [authorize]
    security = SECURITY

    @get("/{job_id:str}/approval", responses=problems(404))
    async def approval(self, request: Request[Any, Any, Any], job_id: UUID) -> ApprovalView:
        """The job's latest approval for the dialog: who may decide (the runbook's policy),
        approvals given and required, and whether the caller may approve now (``can_decide``;
        ``why_not`` says why not, e.g. ``four_eyes``: another person must approve)."""
        view = await approval_view(request.app.state.pool, job_id, principal(request))
        if view is None:
            raise not_found(f"job {job_id}")
        return view


# Slack ------------------------------------------------------------------------------------------

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class SlackLink(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/v1/me``: link (or, with null, unlink) the person's Slack user id."""

    slack_user_id: Annotated[str, Meta(pattern=SLACK_USER_ID.pattern)] | None


class SlackLinked(Struct, kw_only=True):
    slack_user_id: str | None


async def link_slack(pool: asyncpg.Pool, user_id: UUID, slack_user_id: str | None) -> None:
    """One Runwright user per Slack user: taken by another person is a 409."""
    try:
        await pool.execute(
            "UPDATE gateway.users SET slack_user_id = $2 WHERE id = $1", user_id, slack_user_id
        )
    except asyncpg.UniqueViolationError as exc:
        raise Problem(
            409,
            "Conflict",
            "this Slack user is linked to another person",
            code="conflict",
        ) from exc


class SlackForm(Struct, kw_only=True):
    """What Slack posts (form-encoded): ``payload``, the interaction as JSON."""

    payload: str


class SlackReply(Struct, kw_only=True):
    """What Slack shows the person who clicked (only to them)."""

    text: str
    response_type: str = "ephemeral"
    replace_original: bool = False


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def bad_signature(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, code="bad_signature")


def verify_slack(secret: str, headers: Any, body: bytes, now: float | None = None) -> None:
    """Slack's request signing: ``v0=`` HMAC-SHA256 of ``v0:<timestamp>:<raw body>`` keyed with
    the app's signing secret, the timestamp at most five minutes old."""
    if not secret:
        raise bad_signature("Slack interactions are not set up (RUNWRIGHT_SLACK_SIGNING_SECRET)")
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    try:
        age = abs((now or time.time()) - int(timestamp))
    except ValueError as exc:
        raise bad_signature("X-Slack-Request-Timestamp is missing or not a number") from exc
    if age > SLACK_MAX_AGE_S:
        raise bad_signature("the request is older than five minutes")
    expected = slack_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise bad_signature("X-Slack-Signature does not match")


def _payload(body: bytes) -> dict[str, Any]:
    try:
        form = parse_qs(body.decode("utf-8"), max_num_fields=20)
        payload = json.loads(form["payload"][0])
    except (KeyError, IndexError, ValueError) as exc:
        raise Problem(
            400, "Malformed body", "expected a form field payload= with JSON", code="malformed"
        ) from exc
    if not isinstance(payload, dict):
        raise Problem(400, "Malformed body", "payload is not a JSON object", code="malformed")
    return payload


def _clicked(payload: dict[str, Any]) -> tuple[str, str, UUID, int]:
    """(Slack user id, action, job id, ordinal) of the click."""
    try:
        user = str(payload["user"]["id"])
        clicked = payload["actions"][0]
        action = {SLACK_APPROVE: "approve", SLACK_REJECT: "reject"}[clicked["action_id"]]
        job, ordinal = str(clicked["value"]).rsplit(":", 1)
        return user, action, UUID(job), int(ordinal)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise Problem(
            400, "Malformed body", "not a Runwright approval button click", code="malformed"
        ) from exc


def _slack_text(reply: DecideReply, action: str) -> str:
    match reply.outcome:
        case "applied":
            return "Approved: the job carries on." if action == "approve" else "Rejected."
        case "counted":
            return f"Your approval is counted ({reply.given} of {reply.required})."
        case "refused":
            return f"You may not decide this approval: {reply.detail}."
        case "superseded":
            return f"Too late: {reply.detail or 'the job moved on'}."
    return "Runwright does not know this job."


class SlackController(Controller):
    path = "/api/v1/integrations/slack"
    guards = [authorize]
    security = SECURITY

    @post("/interactions", status_code=200, responses=problems(401))
    async def interactions(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[SlackForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> SlackReply:
        """Slack's interactivity request URL: an Approve or Reject click on an
        ``approval.requested`` message (form-encoded ``payload=``), signed with the Slack app's
        signing secret. The clicker decides as the Runwright user who linked that Slack user
        (``PATCH /api/v1/me``), exactly as through the API; an unlinked user is told so. No
        bearer or session: Slack's signature (``X-Slack-Signature``) is the credential, 401 when
        it is missing, wrong or over five minutes old."""
        state = request.app.state
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise Problem(
                400,
                "Malformed body",
                "expected Slack's form-encoded payload= (application/x-www-form-urlencoded)",
                code="malformed",
            )
        body = await request.body()
        verify_slack(state.settings.slack_signing_secret, request.headers, body)
        del data  # parsed again from the raw body the signature covers
        payload = _payload(body)
        slack_user, action, job_id, ordinal = _clicked(payload)
        pool = state.pool
        audit.note(request, actor=f"slack:{slack_user}", target=str(job_id))
        user = await pool.fetchrow(
            "SELECT id, email FROM gateway.users WHERE slack_user_id = $1", slack_user
        )
        if user is None:
            audit.note(request, outcome="denied", detail={"why": "not linked"})
            return SlackReply(
                text="Your Slack account is not linked to a Runwright user: set it on your "
                "profile (PATCH /api/v1/me) first. Nothing was decided."
            )
        workspace = await pool.fetchval("SELECT workspace FROM queue.jobs WHERE id = $1", job_id)
        membership = None
        if workspace is not None:
            membership = await pool.fetchrow(
                "SELECT role FROM gateway.memberships WHERE user_id = $1 AND workspace = $2",
                user["id"],
                workspace,
            )
        actor = f"user:{user['email']}"
        audit.note(request, actor=actor, workspace=workspace or "default")
        if membership is None:
            audit.note(request, outcome="denied")
            return SlackReply(text="Runwright does not know this job in your workspaces.")
        role = Role.named(membership["role"])
        if role < Role.MEMBER:
            audit.note(request, outcome="denied")
            return SlackReply(text=f"You may not decide approvals: you are a {role.label}.")
        who = Principal(workspace=workspace, role=role, actor=actor, user_id=user["id"])
        reply = await send_decision(request, who, job_id, action, ordinal=ordinal, via="slack")
        if reply.outcome in ("refused", "superseded", None):
            audit.note(request, outcome="denied", detail={"outcome": reply.outcome})
        url = slack_update.usable(payload.get("response_url"), state.settings.slack_response_hosts)
        text = slack_update.message(reply.outcome, action, actor)
        if url is not None and text is not None:
            slack_update.update_later(state.http, url, text)
        return SlackReply(text=_slack_text(reply, action))
