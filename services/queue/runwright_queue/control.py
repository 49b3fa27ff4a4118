"""People steering jobs: versioned actions with an audit row each, approvals decided in the same
transaction as the job's status, and what the executor is told."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncpg
from runwright_proto.control import (
    AVAILABLE,
    ActionReply,
    Control,
    JobAction,
    JobState,
    JobStateReply,
)
from runwright_proto.jobs import ACTIVE

from runwright_queue.journal import (
    TransitionRejected,
    approval_event,
    finish,
    step_event,
    transition,
)

Notify = Callable[[Control], Awaitable[None]]
DECIDED = {"approve": "approved", "reject": "rejected", "skip": "skipped", "retry": "retried"}


async def _audit(
    conn: asyncpg.Connection, cmd: JobAction, before: str | None, after: str | None, applied: bool
) -> None:
    await conn.execute(
        "INSERT INTO queue.job_actions (job_id, action, actor, reason, request_id, from_status, "
        "to_status, applied) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        UUID(cmd.job_id),
        cmd.action,
        cmd.actor,
        cmd.reason,
        cmd.request_id,
        before,
        after,
        applied,
    )


async def _decide(
    conn: asyncpg.Connection,
    job_id: UUID,
    state: str,
    actor: str,
    reason: str | None,
    retry_step: dict[str, Any] | None = None,
) -> asyncpg.Record | None:
    row = await conn.fetchrow(
        "UPDATE queue.job_approvals SET state = $2, decided_at = now(), actor = $3, reason = $4,"
        " retry_step = $5 WHERE job_id = $1 AND state = 'requested' RETURNING *",
        job_id,
        state,
        actor,
        reason,
        retry_step,
    )
    if row is not None:
        await approval_event(conn, row)
    return row


async def _held_step(conn: asyncpg.Connection, held: asyncpg.Record, status: str) -> None:
    """A held failure's step once decided: ``pending`` again for a retry (the executor runs it
    anew in the same browser), ``skipped`` for a skip."""
    row = await conn.fetchrow(
        "UPDATE queue.job_steps SET status = $3, started_at = CASE WHEN $3 = 'pending' THEN NULL"
        " ELSE started_at END, finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE finished_at"
        " END, duration_ms = CASE WHEN $3 = 'pending' THEN NULL ELSE duration_ms END,"
        " error = CASE WHEN $3 = 'pending' THEN NULL ELSE error END"
        " WHERE job_id = $1 AND ordinal = $2 AND status = 'failed' RETURNING *",
        held["job_id"],
        held["ordinal"],
        status,
    )
    if row is not None:
        await step_event(conn, held["job_id"], row)


def _refusal(cmd: JobAction, kind: str | None) -> str | None:
    """Why ``cmd`` does not fit what the job waits for (an approval, or a held failure)."""
    if cmd.action == "retry" and kind != "failure":
        return "retry is for a step that failed and is held; this job waits for an approval"
    if cmd.action == "approve" and kind == "failure":
        return "a held failure is retried (retry), skipped (skip) or failed (reject), not approved"
    return None


async def act(pool: asyncpg.Pool, notify: Notify, cmd: JobAction) -> ActionReply:
    """Apply ``cmd`` if the job's status allows it; exactly one of racing actions wins."""
    job_id = UUID(cmd.job_id)
    allowed = AVAILABLE[cmd.action]
    async with pool.acquire() as conn, conn.transaction():
        job = await conn.fetchrow(
            "SELECT status, attempt, version FROM queue.jobs WHERE id = $1 FOR UPDATE", job_id
        )
        if job is None:
            return ActionReply(applied=False, status="unknown", detail="unknown job")
        before = job["status"]
        if cmd.version is not None and cmd.version != job["version"]:
            await _audit(conn, cmd, before, None, applied=False)
            return ActionReply(
                applied=False,
                status=before,
                detail=f"the job changed since version {cmd.version} "
                f"(now {job['version']}, {before}); reload and retry",
            )
        if before not in allowed:
            await _audit(conn, cmd, before, None, applied=False)
            return ActionReply(
                applied=False,
                status=before,
                detail=f"{cmd.action} is available while the job is "
                f"{' or '.join(allowed)}; it is {before}",
            )
        reason = cmd.reason or f"{cmd.action} by {cmd.actor}"
        kind = None
        if before == "waiting_for_approval":
            kind = await conn.fetchval(
                "SELECT kind FROM queue.job_approvals WHERE job_id = $1 AND state = 'requested'",
                job_id,
            )
        if why := _refusal(cmd, kind):
            await _audit(conn, cmd, before, None, applied=False)
            return ActionReply(applied=False, status=before, detail=why)
        try:
            if cmd.action == "cancel":
                if before == "waiting_for_approval":
                    await _decide(conn, job_id, "cancelled", cmd.actor, reason)
                await finish(conn, job_id, "cancelled", allowed, reason=reason, actor=cmd.actor)
                after = "cancelled"
            elif cmd.action in DECIDED:
                held = await _decide(
                    conn, job_id, DECIDED[cmd.action], cmd.actor, cmd.reason, cmd.step
                )
                if held is not None and kind == "failure" and cmd.action in ("retry", "skip"):
                    await _held_step(conn, held, "pending" if cmd.action == "retry" else "skipped")
                await transition(conn, job_id, "running", allowed, reason=reason, actor=cmd.actor)
                after = "running"
            else:
                after = "paused" if cmd.action == "pause" else "running"
                await transition(conn, job_id, after, allowed, reason=reason, actor=cmd.actor)  # type: ignore[arg-type]
        except TransitionRejected as exc:
            return ActionReply(applied=False, status=exc.current or "unknown", detail=str(exc))
        await _audit(conn, cmd, before, after, applied=True)
    if before in ACTIVE:
        await notify(
            Control(
                job_id=cmd.job_id,
                attempt=job["attempt"],
                command=cmd.action,
                actor=cmd.actor,
                reason=cmd.reason,
                step=cmd.step,
            )
        )
    return ActionReply(applied=True, status=after, previous=before)


async def job_state(pool: asyncpg.Pool, cmd: JobState) -> JobStateReply:
    """What a waiting executor should do: the job's status and the latest decision."""
    job_id = UUID(cmd.job_id)
    async with pool.acquire() as conn:
        job = await conn.fetchrow("SELECT status, attempt FROM queue.jobs WHERE id = $1", job_id)
        if job is None:
            return JobStateReply(status="unknown", attempt=0)
        decision = await conn.fetchrow(
            "SELECT state, actor, reason, retry_step FROM queue.job_approvals"
            " WHERE job_id = $1 AND attempt = $2 AND ($3::int IS NULL OR ordinal = $3) "
            " AND ($3::int IS NULL OR (kind = $4 AND round = $5))"
            " ORDER BY requested_at DESC LIMIT 1",
            job_id,
            cmd.attempt,
            cmd.ordinal,
            cmd.kind,
            cmd.round,
        )
    verdict = {"approved": "approve", "rejected": "reject", "skipped": "skip", "retried": "retry"}
    if decision is None or decision["state"] not in verdict:
        return JobStateReply(status=job["status"], attempt=job["attempt"])
    return JobStateReply(
        status=job["status"],
        attempt=job["attempt"],
        decision=verdict[decision["state"]],  # type: ignore[arg-type]
        actor=decision["actor"],
        reason=decision["reason"],
        step=decision["retry_step"],
    )


async def expire_approvals(pool: asyncpg.Pool, notify: Notify) -> int:
    """No decision in time: the job fails with the reason "approval timed out"."""
    expired = 0
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT a.job_id, j.attempt FROM queue.job_approvals a JOIN queue.jobs j "
            "ON j.id = a.job_id WHERE a.state = 'requested' AND a.deadline < now() "
            "AND j.status = 'waiting_for_approval' FOR UPDATE OF j SKIP LOCKED"
        )
        for row in rows:
            await _decide(conn, row["job_id"], "timed_out", "system", "approval timed out")
            await finish(
                conn,
                row["job_id"],
                "failed",
                ("waiting_for_approval",),
                reason="approval timed out",
                actor="system",
            )
            expired += 1
    for row in rows:
        await notify(
            Control(
                job_id=str(row["job_id"]),
                attempt=row["attempt"],
                command="cancel",
                actor="system",
                reason="approval timed out",
            )
        )
    return expired
