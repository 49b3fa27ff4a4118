"""Applying executor reports. Idempotent, fenced by attempt, tolerant of redelivery order."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from nats.aio.msg import Msg
from runwright_common.logging import get_logger
from runwright_db.idempotency import first_delivery
from runwright_proto.jobs import TERMINAL
from runwright_proto.reports import JobFinished, Report, StepFinished, StepStarted, message_id

from runwright_queue.artifacts import finish_from, hold_finish, missing_artifacts
from runwright_queue.journal import step_event

log = get_logger("runwright.queue.reports")
CONSUMER = "queue-reports"


async def apply_report(pool: asyncpg.Pool, report: Report, _msg: Msg | None = None) -> bool:
    """Apply one report; False when it was a duplicate, stale (lost lease) or too late."""
    job_id = UUID(report.job_id)
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, "queue.processed_messages", CONSUMER, message_id(report)):
            return False
        job = await conn.fetchrow(
            "SELECT status, attempt FROM queue.jobs WHERE id = $1 FOR UPDATE", job_id
        )
        if job is None:
            log.warning("report for an unknown job", job_id=report.job_id)
            return False
        if job["attempt"] != report.attempt:
            log.warning(
                "rejected a report from an attempt that lost its lease",
                job_id=report.job_id,
                attempt=report.attempt,
                current=job["attempt"],
            )
            return False
        if job["status"] in TERMINAL:
            return False
        secrets = tuple(
            (
                await conn.fetchval(
                    "SELECT secrets FROM queue.job_secrets WHERE job_id = $1", job_id
                )
                or {}
            ).values()
        )
        match report:
            case StepStarted():
                row = await conn.fetchrow(
                    "UPDATE queue.job_steps SET status = 'running', started_at = $3 "
                    "WHERE job_id = $1 AND ordinal = $2 AND status = 'pending' RETURNING *",
                    job_id,
                    report.ordinal,
                    report.at,
                )
            case StepFinished():
                row = await conn.fetchrow(
                    "UPDATE queue.job_steps SET status = $3, finished_at = $4, duration_ms = $5, "
                    "retries = $6, captured = $7, error = $8 "
                    "WHERE job_id = $1 AND ordinal = $2 AND status IN ('pending', 'running') "
                    "RETURNING *",
                    job_id,
                    report.ordinal,
                    report.status,
                    report.at,
                    report.duration_ms,
                    report.retries,
                    report.captured,
                    msgspec.to_builtins(report.error) if report.error else None,
                )
            case JobFinished():
                if await missing_artifacts(conn, job_id, report.artifact_ids):
                    await hold_finish(conn, job_id, report)
                else:
                    await finish_from(conn, job_id, report)
                return True
        if row is None:
            return False
        await step_event(conn, job_id, row, secrets=secrets)
        return True
