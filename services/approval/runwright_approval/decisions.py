"""Approval decisions: the approval service records each request and each decision, applies the
runbook's approver policy, and asks the queue to apply the final one.

One winner across the two services: decisions on one request are serialised by a row lock on
``approval.requests`` (held while the queue is asked); the queue then applies the transition only
at the job's version and status (``FOR UPDATE``), so a cancel, a timeout or another decision that
got there first turns this one into ``superseded``. A redelivered request (the same
``decision_id``) gets the answer that was recorded.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from uuid import UUID

import asyncpg
from runwright_common import metrics
from runwright_common.logging import get_logger
from runwright_db.after_commit import after_commit
from runwright_proto.approvals import Decide, DecideReply, policy_of, refusal
from runwright_proto.control import ActionReply, JobAction
from runwright_proto.events import ApprovalEvent

log = get_logger("runwright.approval.decisions")

AskQueue = Callable[[JobAction], Awaitable[ActionReply]]
DECIDED = {"approve": "approved", "reject": "rejected", "skip": "skipped"}
CLOSING = ("approved", "rejected", "skipped", "retried", "timed_out", "cancelled")


_JOB = (
    "SELECT id, workspace, status, version, submitted_by, "
    "runbook -> 'x-runwright' -> 'approval' AS policy FROM queue.jobs WHERE id = $1"
)


async def ensure_request(
    conn: asyncpg.Connection, job: asyncpg.Record, approval: asyncpg.Record
) -> None:
    """Record the request (once) with the policy it is decided under."""
    policy = job["policy"] or {}
    await conn.execute(
        "INSERT INTO approval.requests (id, job_id, workspace, attempt, ordinal, submitted_by, "
        "policy, required) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        approval["id"],
        job["id"],
        job["workspace"],
        approval["attempt"],
        approval["ordinal"],
        job["submitted_by"],
        policy,
        policy_of(policy).approvals,
    )


async def record_event(pool: asyncpg.Pool, event: ApprovalEvent) -> None:
    """From the event stream: a requested approval is recorded; a decided one closes its request
    (timed out, cancelled, or decided: the queue said so)."""
    try:
        approval_id, job_id = UUID(event.approval_id), UUID(event.job_id)
    except ValueError:
        return
    if event.state == "requested":
        async with pool.acquire() as conn:
            job = await conn.fetchrow(_JOB, job_id)
            if job is None:
                return
            row = await conn.fetchrow(
                "SELECT id, attempt, ordinal FROM queue.job_approvals WHERE id = $1", approval_id
            )
            if row is not None:
                await ensure_request(conn, job, row)
        return
    if event.state in CLOSING:
        async with pool.acquire() as conn:
            await close(conn, approval_id, event.state, only_open=True)


async def close(
    conn: asyncpg.Connection, approval_id: UUID | None, state: str, *, only_open: bool = False
) -> None:
    """Close a request; its wait is observed once the close commits (not when it was closed
    already: a redelivered event changes nothing)."""
    closed = await conn.fetchrow(
        "UPDATE approval.requests SET state = $2, closed_at = now() WHERE id = $1"
        + (" AND state = 'open'" if only_open else "")
        + " RETURNING workspace, extract(epoch FROM closed_at - requested_at) AS waited",
        approval_id,
        state,
    )
    if closed is not None:
        waited = float(closed["waited"] or 0)
        observed = partial(metrics.approval_closed, closed["workspace"], state, waited)
        after_commit(conn, observed)


async def _given(conn: asyncpg.Connection, approval_id: UUID) -> set[str]:
    rows = await conn.fetch(
        "SELECT DISTINCT actor FROM approval.decisions WHERE approval_id = $1 "
        "AND action = 'approve' AND outcome IN ('counted', 'applied')",
        approval_id,
    )
    return {r["actor"] for r in rows}


async def _record(
    conn: asyncpg.Connection,
    cmd: Decide,
    reply: DecideReply,
    approval_id: UUID | None,
) -> DecideReply:
    assert reply.outcome is not None
    await conn.execute(
        "INSERT INTO approval.decisions (id, approval_id, job_id, workspace, ordinal, action, "
        "actor, user_id, role, via, outcome, why, detail, reason, request_id, status, required, "
        "given) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
        "$17, $18) ON CONFLICT (id) DO NOTHING",
        UUID(cmd.decision_id),
        approval_id,
        UUID(cmd.job_id),
        cmd.workspace,
        reply.ordinal,
        cmd.action,
        cmd.actor,
        UUID(cmd.user_id) if cmd.user_id else None,
        cmd.role,
        cmd.via,
        reply.outcome,
        reply.why,
        reply.detail,
        cmd.reason,
        cmd.request_id,
        reply.status,
        reply.required,
        reply.given,
    )
    log.info(
        "approval decision",
        job_id=cmd.job_id,
        actor=cmd.actor,
        action=cmd.action,
        outcome=reply.outcome,
        why=reply.why,
    )
    return reply


async def _recorded(conn: asyncpg.Connection, decision_id: UUID) -> DecideReply | None:
    row = await conn.fetchrow("SELECT * FROM approval.decisions WHERE id = $1", decision_id)
    if row is None:
        return None
    return DecideReply(
        outcome=row["outcome"],
        status=row["status"],
        detail=row["detail"],
        why=row["why"],
        ordinal=row["ordinal"],
        required=row["required"],
        given=row["given"],
    )


async def decide(pool: asyncpg.Pool, ask_queue: AskQueue, cmd: Decide) -> DecideReply:
    """Apply the policy to ``cmd`` and, when the decision is final, have the queue apply it."""
    decision_id, job_id = UUID(cmd.decision_id), UUID(cmd.job_id)
    async with pool.acquire() as conn:
        before = await _recorded(conn, decision_id)
        if before is not None:
            return before
        job = await conn.fetchrow(_JOB, job_id)
        if job is None or job["workspace"] != cmd.workspace:
            return DecideReply(outcome=None, status="unknown", detail="unknown job")
        async with conn.transaction():
            pending = await conn.fetchrow(
                "SELECT id, attempt, ordinal FROM queue.job_approvals WHERE job_id = $1 "
                "AND state = 'requested' ORDER BY attempt DESC, ordinal DESC LIMIT 1",
                job_id,
            )
            if pending is None or job["status"] != "waiting_for_approval":
                return await _superseded_without_request(conn, cmd, job)
            await ensure_request(conn, job, pending)
            request = await conn.fetchrow(
                "SELECT * FROM approval.requests WHERE id = $1 FOR UPDATE", pending["id"]
            )
            assert request is not None
            again = await _recorded(conn, decision_id)  # the same request, raced with itself
            if again is not None:
                return again
            return await _decide_locked(conn, ask_queue, cmd, request)


async def _superseded_without_request(
    conn: asyncpg.Connection, cmd: Decide, job: asyncpg.Record
) -> DecideReply:
    latest = await conn.fetchrow(
        "SELECT id, ordinal, required FROM approval.requests WHERE job_id = $1 "
        "AND ($2::int IS NULL OR ordinal = $2) ORDER BY requested_at DESC LIMIT 1",
        job["id"],
        cmd.ordinal,
    )
    reply = DecideReply(
        outcome="superseded",
        status=job["status"],
        detail=f"{cmd.action} is available while the job is waiting_for_approval; "
        f"it is {job['status']}",
        ordinal=latest["ordinal"] if latest else cmd.ordinal,
        required=latest["required"] if latest else 1,
        given=len(await _given(conn, latest["id"])) if latest else 0,
    )
    return await _record(conn, cmd, reply, latest["id"] if latest else None)


async def _decide_locked(
    conn: asyncpg.Connection, ask_queue: AskQueue, cmd: Decide, request: asyncpg.Record
) -> DecideReply:
    approval_id: UUID = request["id"]
    given = await _given(conn, approval_id)
    required: int = request["required"]
    job = await conn.fetchrow(_JOB, request["job_id"])  # after the lock: the current version
    assert job is not None

    def answer(outcome: Any, **extra: Any) -> DecideReply:
        fields: dict[str, Any] = {
            "status": job["status"],
            "ordinal": request["ordinal"],
            "required": required,
            "given": len(given),
            **extra,
        }
        return DecideReply(outcome=outcome, **fields)

    if request["state"] != "open":
        detail = f"the approval was already decided ({request['state']})"
        return await _record(conn, cmd, answer("superseded", detail=detail), approval_id)
    if cmd.ordinal is not None and cmd.ordinal != request["ordinal"]:
        detail = f"the job now waits for step {request['ordinal'] + 1}'s approval"
        return await _record(conn, cmd, answer("superseded", detail=detail), approval_id)
    refused = refusal(
        policy_of(request["policy"]),
        action=cmd.action,
        actor=cmd.actor,
        role=cmd.role,
        submitted_by=request["submitted_by"],
    )
    if refused is not None:
        why, detail = refused
        return await _record(conn, cmd, answer("refused", why=why, detail=detail), approval_id)
    if cmd.version is not None and cmd.version != job["version"]:
        detail = (
            f"the job changed since version {cmd.version} (now {job['version']}, "
            f"{job['status']}); reload and retry"
        )
        return await _record(conn, cmd, answer("superseded", detail=detail), approval_id)
    if cmd.action == "approve":
        given.add(cmd.actor)
        if len(given) < required:
            detail = f"{len(given)} of {required} approvals; another person must approve"
            return await _record(conn, cmd, answer("counted", detail=detail), approval_id)
    acted = await ask_queue(
        JobAction(
            job_id=cmd.job_id,
            action=cmd.action,
            actor=cmd.actor,
            reason=cmd.reason,
            request_id=cmd.request_id,
            version=job["version"],
        )
    )
    if acted.applied or await _applied_before(conn, request["id"], cmd):
        await close(conn, approval_id, DECIDED[cmd.action])
        reply = answer("applied", status=acted.status if acted.applied else "running")
        return await _record(conn, cmd, reply, approval_id)
    if cmd.action == "approve":
        given.discard(cmd.actor)
    await close(conn, approval_id, "superseded", only_open=True)
    reply = answer("superseded", status=acted.status, detail=acted.detail, given=len(given))
    return await _record(conn, cmd, reply, approval_id)


async def _applied_before(conn: asyncpg.Connection, approval_id: UUID, cmd: Decide) -> bool:
    """The queue refused because it had applied this very decision already (a retry after a
    lost answer): the approval is decided as asked, by this actor."""
    row = await conn.fetchrow(
        "SELECT state, actor FROM queue.job_approvals WHERE id = $1", approval_id
    )
    return row is not None and (row["state"], row["actor"]) == (DECIDED[cmd.action], cmd.actor)


def new_decision_id() -> str:
    return str(uuid.uuid4())
