"""An executor asks for a person's decision before a step: the job waits, visibly.

The request comes on the executor's ordered report path, so it is applied after the reports of the
steps before it. It is announced only once its evidence screenshot is stored (or after
``EVIDENCE_WAIT_S``, without it), so the approval dialog never shows a broken image.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
import msgspec
from runwright_common.errors import RetryableError
from runwright_common.logging import get_logger
from runwright_proto.jobs import step_label
from runwright_proto.reports import ApprovalRequested

from runwright_queue.journal import approval_event, transition

log = get_logger("runwright.queue.approvals")
EVIDENCE_WAIT_S = 15.0
EVIDENCE_POLL_S = 0.1


class EvidencePending(RetryableError):
    """The approval's screenshot is not stored yet: apply the request a moment later."""


async def _evidence(
    conn: asyncpg.Connection, job_id: UUID, report: ApprovalRequested, age_s: float
) -> UUID | None:
    if report.screenshot_artifact_id is None:
        return None
    artifact = UUID(report.screenshot_artifact_id)
    stored = await conn.fetchval(
        "SELECT true FROM queue.job_artifacts WHERE job_id = $1 AND artifact_id = $2",
        job_id,
        artifact,
    )
    if stored:
        return artifact
    if age_s < EVIDENCE_WAIT_S:
        raise EvidencePending(
            f"the screenshot for {step_label(report.ordinal)}'s approval is not stored yet",
            delay_s=EVIDENCE_POLL_S,
        )
    log.warning(
        "approval announced without its screenshot: not stored in time",
        job_id=str(job_id),
        artifact_id=report.screenshot_artifact_id,
    )
    return None


async def hold_for_approval(
    conn: asyncpg.Connection, job_id: UUID, report: ApprovalRequested, age_s: float
) -> bool:
    """Move the job to ``waiting_for_approval`` and announce the request with its evidence."""
    existing = await conn.fetchval(
        "SELECT true FROM queue.job_approvals WHERE job_id = $1 AND attempt = $2 AND ordinal = $3"
        " AND kind = $4 AND round = $5",
        job_id,
        report.attempt,
        report.ordinal,
        report.kind,
        report.round,
    )
    if existing:
        return False
    screenshot = await _evidence(conn, job_id, report, age_s)
    held = report.kind == "failure"
    await transition(
        conn,
        job_id,
        "waiting_for_approval",
        ("running", "paused"),
        reason=f"{step_label(report.ordinal)} failed; held for a person to retry, skip or fail it"
        if held
        else f"{step_label(report.ordinal)} needs approval",
        actor="executor",
    )
    row = await conn.fetchrow(
        "INSERT INTO queue.job_approvals (id, job_id, attempt, ordinal, description, "
        "risk_level, captured, screenshot_artifact_id, deadline, kind, round, error, failed_step)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING *",
        uuid.uuid4(),
        job_id,
        report.attempt,
        report.ordinal,
        report.description,
        report.risk_level,
        report.captured,
        screenshot,
        datetime.now(UTC) + timedelta(seconds=report.timeout_s),
        report.kind,
        report.round,
        msgspec.to_builtins(report.error) if report.error else None,
        report.step,
    )
    await approval_event(conn, row)
    return True
