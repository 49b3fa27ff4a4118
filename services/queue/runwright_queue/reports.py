"""Applying executor reports: idempotent, fenced by attempt, and in the order things happened.

Each report of an attempt carries the next ``seq``; report ``n`` is applied only after report
``n - 1`` (one ahead of its turn is sent back to wait, one already applied is a no-op). So a job's
events come out in the order the executor caused them, whatever the broker redelivers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec
from nats.aio.msg import Msg
from runwright_common.errors import RetryableError
from runwright_common.logging import get_logger
from runwright_db.idempotency import first_delivery
from runwright_proto.jobs import TERMINAL
from runwright_proto.reports import (
    ApprovalRequested,
    JobFinished,
    JobReleased,
    Report,
    StepFinished,
    StepStarted,
    message_id,
)

from runwright_queue import vault
from runwright_queue.approvals import hold_for_approval
from runwright_queue.artifacts import finish_from, hold_finish, missing_artifacts
from runwright_queue.journal import step_event
from runwright_queue.sealing import Keyring, SecretsUnreadable
from runwright_queue.timers import lose_executor

log = get_logger("runwright.queue.reports")
CONSUMER = "queue-reports"
OUT_OF_TURN_DELAY_S = 0.2


class OutOfTurn(RetryableError):
    """A report came before one that precedes it: wait for that one."""


def in_turn(report: Report, applied_seq: int) -> bool:
    """True when ``report`` is next; False when it was applied already; raise when it is early."""
    if report.seq == 0:
        return True
    if report.seq <= applied_seq:
        return False
    if report.seq > applied_seq + 1:
        raise OutOfTurn(
            f"report {report.seq} of job {report.job_id} came before report {applied_seq + 1}",
            delay_s=OUT_OF_TURN_DELAY_S,
        )
    return True


async def apply_report(
    pool: asyncpg.Pool,
    report: Report,
    _msg: Msg | None = None,
    *,
    max_requeues: int = 3,
    keys: Keyring,
) -> bool:
    """Apply one report; False when it was a duplicate, stale (lost lease) or too late."""
    job_id = UUID(report.job_id)
    async with pool.acquire() as conn, conn.transaction():
        if not await first_delivery(conn, "queue.processed_messages", CONSUMER, message_id(report)):
            return False
        job = await conn.fetchrow(
            "SELECT status, attempt, report_seq FROM queue.jobs WHERE id = $1 FOR UPDATE", job_id
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
        if job["status"] in TERMINAL or not in_turn(report, job["report_seq"]):
            return False
        if report.seq:
            await conn.execute(
                "UPDATE queue.jobs SET report_seq = $2 WHERE id = $1", job_id, report.seq
            )
        return await _apply(conn, job_id, report, max_requeues, keys)


async def _apply(
    conn: asyncpg.Connection, job_id: UUID, report: Report, max_requeues: int, keys: Keyring
) -> bool:
    match report:
        case StepStarted() | StepFinished():
            return await _apply_step(conn, job_id, report, keys)
        case ApprovalRequested():
            return await hold_for_approval(conn, job_id, report, age_s(report.at))
        case JobReleased():
            await lose_executor(conn, job_id, reason=report.reason, max_requeues=max_requeues)
            return True
        case JobFinished():
            if await missing_artifacts(conn, job_id, report.artifact_ids):
                await hold_finish(conn, job_id, report)
            else:
                await finish_from(conn, job_id, report)
            return True


def age_s(at: datetime) -> float:
    return (datetime.now(UTC) - at).total_seconds()


async def _apply_step(
    conn: asyncpg.Connection,
    job_id: UUID,
    report: StepStarted | StepFinished,
    keys: Keyring,
) -> bool:
    if isinstance(report, StepStarted):
        row = await conn.fetchrow(
            "UPDATE queue.job_steps SET status = 'running', started_at = $3, "
            "description = coalesce($4, description) "
            "WHERE job_id = $1 AND ordinal = $2 AND status = 'pending' RETURNING *",
            job_id,
            report.ordinal,
            report.at,
            report.description,
        )
    else:
        row = await conn.fetchrow(
            "UPDATE queue.job_steps SET status = $3, finished_at = $4, duration_ms = $5, "
            "retries = $6, captured = $7, error = $8, description = coalesce($9, description) "
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
            report.description,
        )
    if row is None:
        return False
    await step_event(conn, job_id, row, secrets=await job_secrets(conn, job_id, keys))
    return True


async def job_secrets(conn: asyncpg.Connection, job_id: UUID, keys: Keyring) -> tuple[str, ...]:
    """Secret values to redact from the job's events. The executor masks them before it reports;
    this is the second net. A row that no longer opens (its key dropped while the job ran) is
    logged, not raised: raising would stall the job's reports behind a message that never
    applies."""
    try:
        return tuple((await vault.load(conn, job_id, keys)).values())
    except SecretsUnreadable as exc:
        log.warning("run secrets not opened for redaction", job_id=str(job_id), error=str(exc))
        return ()
