"""Recording new jobs: job, steps, sealed secrets, the ``queued`` event and dispatch, at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

import asyncpg
import msgspec
from runwright_db.outbox import enqueue
from runwright_proto import subjects
from runwright_proto.commands import (
    DispatchJob,
    SubmitBatch,
    SubmitBatchReply,
    SubmitJob,
    SubmitReply,
)

from runwright_queue import vault
from runwright_queue.journal import OUTBOX, status_event
from runwright_queue.sealing import Keyring

_encode = msgspec.json.Encoder().encode


RETRY_AFTER_S = 5


async def queue_full(conn: asyncpg.Connection, workspace: str, adding: int, limit: int) -> bool:
    waiting: int = await conn.fetchval(
        "SELECT count(*) FROM queue.jobs WHERE workspace = $1 AND status IN ('queued', "
        "'scheduled')",
        workspace,
    )
    return waiting + adding > limit


def _initial(cmd: SubmitJob) -> Literal["scheduled", "queued"]:
    return "scheduled" if cmd.run_at is not None and cmd.run_at > datetime.now(UTC) else "queued"


async def _record(conn: asyncpg.Connection, cmd: SubmitJob, keys: Keyring) -> bool:
    """Insert one job (its secrets sealed); False when that job id was already recorded (a
    retried submission)."""
    job_id = UUID(cmd.job_id)
    status = _initial(cmd)
    inserted = await conn.fetchval(
        """
        INSERT INTO queue.jobs (id, workspace, title, status, priority, trigger, submitted_by,
                                labels, runbook, variables, steps_total, batch_id, data,
                                options, created_at)
        VALUES ($1, $2, $3, $14, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                clock_timestamp())
        ON CONFLICT (id) DO NOTHING RETURNING true
        """,
        job_id,
        cmd.workspace,
        cmd.title,
        cmd.priority,
        cmd.trigger,
        cmd.submitted_by,
        cmd.labels,
        msgspec.to_builtins(cmd.runbook),
        cmd.variables,
        len(cmd.steps),
        UUID(cmd.batch_id) if cmd.batch_id else None,
        cmd.data,
        msgspec.to_builtins(cmd.options),
        status,
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO queue.job_steps (job_id, ordinal, description, description_template, "
        "action_type) VALUES ($1, $2, $3, $3, $4)",
        [(job_id, s.ordinal, s.description, s.action_type) for s in cmd.steps],
    )
    if cmd.secrets:
        await vault.store(conn, job_id, cmd.secrets, keys)
    if cmd.run_at is not None:
        await conn.execute("UPDATE queue.jobs SET run_at = $2 WHERE id = $1", job_id, cmd.run_at)
    reason = f"runs at {cmd.run_at.isoformat()}" if status == "scheduled" and cmd.run_at else None
    await status_event(
        conn,
        job_id,
        status,
        None,
        actor=cmd.submitted_by,
        reason=reason,
    )
    if status == "queued":
        await dispatch(conn, cmd.job_id, cmd.priority)
    return True


async def dispatch(conn: asyncpg.Connection, job_id: str, priority: int) -> None:
    """Wake an executor: the message is a nudge; the claim picks the best eligible job."""
    await enqueue(
        conn, OUTBOX, subjects.DISPATCH, _encode(DispatchJob(job_id=job_id, priority=priority))
    )


async def submit(
    pool: asyncpg.Pool, cmd: SubmitJob, max_queued: int = 10_000, *, keys: Keyring
) -> SubmitReply:
    """Idempotent on ``job_id``: a retried submission answers with the job already recorded."""
    async with pool.acquire() as conn, conn.transaction():
        exists = await conn.fetchval(
            "SELECT status FROM queue.jobs WHERE id = $1", UUID(cmd.job_id)
        )
        if exists is None and await queue_full(conn, cmd.workspace, 1, max_queued):
            return SubmitReply(
                job_id=cmd.job_id,
                status="rejected",
                created=False,
                reason=f"the queue holds {max_queued} waiting jobs",
                retry_after_s=RETRY_AFTER_S,
            )
        if await _record(conn, cmd, keys):
            return SubmitReply(job_id=cmd.job_id, status=_initial(cmd), created=True)
        status = await conn.fetchval(
            "SELECT status FROM queue.jobs WHERE id = $1", UUID(cmd.job_id)
        )
    return SubmitReply(job_id=cmd.job_id, status=status, created=False)


async def submit_batch(
    pool: asyncpg.Pool, cmd: SubmitBatch, max_queued: int = 10_000, *, keys: Keyring
) -> SubmitBatchReply:
    """Every job of the batch in one transaction: all are recorded, or none."""
    async with pool.acquire() as conn, conn.transaction():
        workspace = cmd.jobs[0].workspace if cmd.jobs else "default"
        if await queue_full(conn, workspace, len(cmd.jobs), max_queued):
            return SubmitBatchReply(
                batch_id=cmd.batch_id,
                job_ids=[],
                created=False,
                rejected=f"the queue holds {max_queued} waiting jobs",
                retry_after_s=RETRY_AFTER_S,
            )
        created = [await _record(conn, job, keys) for job in cmd.jobs]
    return SubmitBatchReply(
        batch_id=cmd.batch_id, job_ids=[j.job_id for j in cmd.jobs], created=all(created)
    )
