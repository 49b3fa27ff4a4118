"""Recording new jobs: job, steps, secrets, the ``queued`` event and the dispatch, atomically."""

from __future__ import annotations

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

from runwright_queue.journal import OUTBOX, status_event

_encode = msgspec.json.Encoder().encode


async def _record(conn: asyncpg.Connection, cmd: SubmitJob) -> bool:
    """Insert one job; False when that job id was already recorded (a retried submission)."""
    job_id = UUID(cmd.job_id)
    inserted = await conn.fetchval(
        """
        INSERT INTO queue.jobs (id, workspace, title, status, priority, trigger, submitted_by,
                                labels, runbook, variables, steps_total, batch_id, data,
                                options, created_at)
        VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
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
    )
    if not inserted:
        return False
    await conn.executemany(
        "INSERT INTO queue.job_steps (job_id, ordinal, description, action_type) "
        "VALUES ($1, $2, $3, $4)",
        [(job_id, s.ordinal, s.description, s.action_type) for s in cmd.steps],
    )
    if cmd.secrets:
        await conn.execute(
            "INSERT INTO queue.job_secrets (job_id, secrets) VALUES ($1, $2)", job_id, cmd.secrets
        )
    await status_event(conn, job_id, "queued", None, actor=cmd.submitted_by)
    await enqueue(
        conn,
        OUTBOX,
        subjects.DISPATCH,
        _encode(DispatchJob(job_id=cmd.job_id, priority=cmd.priority)),
    )
    return True


async def submit(pool: asyncpg.Pool, cmd: SubmitJob) -> SubmitReply:
    """Idempotent on ``job_id``: a retried submission answers with the job already recorded."""
    async with pool.acquire() as conn, conn.transaction():
        if await _record(conn, cmd):
            return SubmitReply(job_id=cmd.job_id, status="queued", created=True)
        status = await conn.fetchval(
            "SELECT status FROM queue.jobs WHERE id = $1", UUID(cmd.job_id)
        )
    return SubmitReply(job_id=cmd.job_id, status=status, created=False)


async def submit_batch(pool: asyncpg.Pool, cmd: SubmitBatch) -> SubmitBatchReply:
    """Every job of the batch in one transaction: all are recorded, or none."""
    async with pool.acquire() as conn, conn.transaction():
        created = [await _record(conn, job) for job in cmd.jobs]
    return SubmitBatchReply(
        batch_id=cmd.batch_id, job_ids=[j.job_id for j in cmd.jobs], created=all(created)
    )
