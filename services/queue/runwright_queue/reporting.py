"""Building and storing the execution report when a job finishes, whatever ended it."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg
import msgspec
from runwright_proto.reports import FileRef
from runwright_runbook.report import (
    ExecutionReport,
    ReportDecision,
    ReportStep,
    build_report,
    to_markdown,
)


def stored(file: FileRef) -> FileRef:
    """A file as a job's report names it: the executor's file-system path stays out."""
    return msgspec.structs.replace(file, path=None)


def _error_text(error: dict[str, object] | None) -> str | None:
    if not error:
        return None
    hint = f" — {error['hint']}" if error.get("hint") else ""
    return f"{error.get('kind', 'Error')}: {error.get('message', '')}{hint}"


async def build_job_report(
    conn: asyncpg.Connection,
    job_id: UUID,
    status: str,
    reason: str | None,
    memory_collections: dict[str, int],
    files: list[FileRef],
    actor: str | None = None,
) -> ExecutionReport:
    job = await conn.fetchrow(
        "SELECT title, runbook -> 'metadata' ->> 'startUrl' AS start_url, started_at,"
        " submitted_by FROM queue.jobs WHERE id = $1",
        job_id,
    )
    decided = await conn.fetch(
        "SELECT ordinal, state, actor, decided_at, reason FROM queue.job_approvals"
        " WHERE job_id = $1 AND state <> 'requested' ORDER BY requested_at, ordinal",
        job_id,
    )
    rows = await conn.fetch(
        "SELECT * FROM queue.job_steps WHERE job_id = $1 ORDER BY ordinal", job_id
    )
    steps = [
        ReportStep(
            ordinal=r["ordinal"],
            description=r["description"],
            status=r["status"],
            duration_ms=r["duration_ms"],
            error=_error_text(r["error"]),
            captured_values=r["captured"] or {},
            action_type=r["action_type"],
            retries=r["retries"],
        )
        for r in rows
    ]
    started = job["started_at"]
    duration = int((datetime.now(UTC) - started).total_seconds() * 1000) if started else None
    return build_report(
        title=job["title"],
        start_url=job["start_url"] or "",
        status=status,
        steps=steps,
        total_duration_ms=duration,
        memory_collections=memory_collections,
        files=[stored(f) for f in files],
        reason=reason,
        job_id=str(job_id),
        submitted_by=job["submitted_by"],
        ended_by=actor,
        decisions=[
            ReportDecision(
                ordinal=d["ordinal"],
                state=d["state"],
                actor=d["actor"],
                decided_at=d["decided_at"].isoformat() if d["decided_at"] else None,
                reason=d["reason"],
            )
            for d in decided
        ],
    )


async def store_report(conn: asyncpg.Connection, job_id: UUID, report: ExecutionReport) -> None:
    await conn.execute(
        "INSERT INTO queue.job_reports (job_id, report, markdown) VALUES ($1, $2, $3) "
        "ON CONFLICT (job_id) DO UPDATE SET report = EXCLUDED.report, "
        "markdown = EXCLUDED.markdown",
        job_id,
        msgspec.to_builtins(report),
        to_markdown(report),
    )
