"""Recording a new job: job, steps, secrets, the ``queued`` event and the dispatch, atomically."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from runwright_db.outbox import enqueue
from runwright_proto import subjects
from runwright_proto.commands import DispatchJob, SubmitJob, SubmitReply

from runwright_queue.journal import OUTBOX, status_event

_encode = msgspec.json.Encoder().encode


async def submit(pool: asyncpg.Pool, cmd: SubmitJob) -> SubmitReply:
    """Idempotent on ``job_id``: a retried submission answers with the job already recorded."""
    job_id = UUID(cmd.job_id)
    async with pool.acquire() as conn, conn.transaction():
        inserted = await conn.fetchval(
            """
            INSERT INTO queue.jobs (id, workspace, title, status, priority, trigger, submitted_by,
                                    labels, runbook, variables, steps_total)
            VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, $9, $10)
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
        )
        if not inserted:
            status = await conn.fetchval("SELECT status FROM queue.jobs WHERE id = $1", job_id)
            return SubmitReply(job_id=cmd.job_id, status=status, created=False)
        await conn.executemany(
            "INSERT INTO queue.job_steps (job_id, ordinal, description, action_type) "
            "VALUES ($1, $2, $3, $4)",
            [(job_id, s.ordinal, s.description, s.action_type) for s in cmd.steps],
        )
        if cmd.secrets:
            await conn.execute(
                "INSERT INTO queue.job_secrets (job_id, secrets) VALUES ($1, $2)",
                job_id,
                cmd.secrets,
            )
        await status_event(conn, job_id, "queued", None, actor=cmd.submitted_by)
        await enqueue(
            conn,
            OUTBOX,
            subjects.DISPATCH,
            _encode(DispatchJob(job_id=cmd.job_id, priority=cmd.priority)),
        )
    return SubmitReply(job_id=cmd.job_id, status="queued", created=True)
