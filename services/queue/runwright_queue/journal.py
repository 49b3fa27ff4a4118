"""The job journal: versioned status transitions and the per-job event log, in one transaction.

Every change of a job's state goes through here, so every change gets the next ``seq`` for its job,
is stored in ``queue.job_events`` and is put in the outbox for
``runwright.events.<workspace>.<job_id>``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
from runwright_common.logging import get_logger
from runwright_common.redaction import redact
from runwright_common.tracing import job_span_parent, tracer
from runwright_db.outbox import Carrier, enqueue, enqueue_many
from runwright_proto import subjects
from runwright_proto.artifacts import ArtifactStored
from runwright_proto.events import (
    ApprovalEvent,
    ArtifactEvent,
    ReportEvent,
    StatusEvent,
    StepEvent,
)
from runwright_proto.jobs import TERMINAL, JobStatus
from runwright_proto.reports import FileRef, StepError
from runwright_runbook.report import ExecutionReport

from runwright_queue import job_metrics
from runwright_queue.reporting import build_job_report, store_report

OUTBOX = "queue.outbox"
log = get_logger("runwright.queue.journal")
_encode = msgspec.json.Encoder().encode


class TransitionRejected(Exception):
    """The job was not in a status the transition allows (a lost race, or a stale request)."""

    def __init__(self, current: str | None) -> None:
        super().__init__(f"job is {current}" if current else "unknown job")
        self.current = current


def now() -> datetime:
    return datetime.now(UTC)


async def _next_seq(conn: asyncpg.Connection, job_id: UUID) -> tuple[int, str]:
    """The job's next event number and its workspace (which every event carries)."""
    row = await conn.fetchrow(
        "UPDATE queue.jobs SET event_seq = event_seq + 1 WHERE id = $1 "
        "RETURNING event_seq, workspace",
        job_id,
    )
    assert row is not None, f"no job {job_id}"
    return row["event_seq"], row["workspace"]


async def _record(
    conn: asyncpg.Connection, job_id: UUID, workspace: str, seq: int, kind: str, payload: bytes
) -> None:
    await conn.execute(
        "INSERT INTO queue.job_events (job_id, seq, type, body) VALUES ($1, $2, $3, $4)",
        job_id,
        seq,
        kind,
        payload.decode(),
    )
    await enqueue(conn, OUTBOX, subjects.events(workspace, str(job_id)), payload)


async def record_events(
    conn: asyncpg.Connection,
    events: list[tuple[UUID, str, int, str, bytes]],
    *,
    traces: list[Carrier] | None = None,
) -> None:
    """Several jobs' events at once (job, workspace, seq, type, body): stored and put in the
    outbox in the order given, in two statements; ``traces``: each one's trace context
    (default: the current one)."""
    if not events:
        return
    await conn.executemany(
        "INSERT INTO queue.job_events (job_id, seq, type, body) VALUES ($1, $2, $3, $4)",
        [(job_id, seq, kind, body.decode()) for job_id, _, seq, kind, body in events],
    )
    await enqueue_many(
        conn,
        OUTBOX,
        [(subjects.events(space, str(job_id)), body) for job_id, space, _, _, body in events],
        traces=traces,
    )


def first_event(
    job_id: str,
    status: JobStatus,
    *,
    workspace: str,
    actor: str | None,
    reason: str | None = None,
) -> bytes:
    """A new job's first event (seq 1): its status as it was recorded."""
    event = StatusEvent(
        job_id=job_id,
        workspace=workspace,
        seq=1,
        at=now(),
        status=status,
        previous=None,
        reason=reason,
        actor=actor,
    )
    return _encode(event)


async def status_event(
    conn: asyncpg.Connection,
    job_id: UUID,
    status: JobStatus,
    previous: JobStatus | None,
    *,
    reason: str | None = None,
    actor: str | None = None,
    secrets: tuple[str, ...] = (),
) -> None:
    row = await conn.fetchrow(
        "UPDATE queue.jobs SET event_seq = event_seq + 1 WHERE id = $1 "
        "RETURNING event_seq, workspace, trace",
        job_id,
    )
    assert row is not None, f"no job {job_id}"
    seq, workspace = row["event_seq"], row["workspace"]
    parent, links = job_span_parent(row["trace"])
    attributes = {"runwright.job.id": str(job_id), "runwright.job.status": status}
    with tracer("runwright.queue").start_as_current_span(
        "job status", parent, attributes=attributes, links=links
    ):
        event = StatusEvent(
            job_id=str(job_id),
            workspace=workspace,
            seq=seq,
            at=now(),
            status=status,
            previous=previous,
            reason=redact(reason, secrets),
            actor=actor,
        )
        await _record(conn, job_id, workspace, seq, "status", _encode(event))
        log.info("job status changed", job_id=str(job_id), status=status, previous=previous)


async def step_event(
    conn: asyncpg.Connection, job_id: UUID, row: asyncpg.Record, *, secrets: tuple[str, ...] = ()
) -> None:
    seq, workspace = await _next_seq(conn, job_id)
    error = msgspec.convert(row["error"], StepError) if row["error"] else None
    event = StepEvent(
        job_id=str(job_id),
        workspace=workspace,
        seq=seq,
        at=now(),
        ordinal=row["ordinal"],
        status=row["status"],
        description=row["description"],
        action_type=row["action_type"],
        duration_ms=row["duration_ms"],
        retries=row["retries"],
        captured=redact(row["captured"] or {}, secrets),
        error=error,
    )
    body = msgspec.json.decode(_encode(event))
    await _record(conn, job_id, workspace, seq, "step", _encode(redact(body, secrets)))


async def transition(
    conn: asyncpg.Connection,
    job_id: UUID,
    to: JobStatus,
    allowed_from: tuple[str, ...],
    *,
    reason: str | None = None,
    actor: str | None = None,
    sets: dict[str, Any] | None = None,
) -> asyncpg.Record:
    """``UPDATE ... WHERE version = $v AND status = ANY($allowed)``; raise when the race is lost."""
    row = await conn.fetchrow(
        "SELECT status, version FROM queue.jobs WHERE id = $1 FOR UPDATE", job_id
    )
    if row is None or row["status"] not in allowed_from:
        raise TransitionRejected(row["status"] if row else None)
    assignments = ["status = $3", "version = version + 1", "updated_at = now()", "reason = $4"]
    values: list[Any] = [job_id, row["version"], to, reason]
    if to in TERMINAL:
        assignments.append("finished_at = now()")
    for column, value in (sets or {}).items():
        values.append(value)
        assignments.append(f"{column} = ${len(values)}")
    updated = await conn.fetchrow(
        f"UPDATE queue.jobs SET {', '.join(assignments)} "
        "WHERE id = $1 AND version = $2 RETURNING *",
        *values,
    )
    if updated is None:
        raise TransitionRejected(row["status"])
    await status_event(conn, job_id, to, row["status"], reason=reason, actor=actor)
    job_metrics.transitioned(conn, updated)
    return updated


async def skip_unfinished_steps(conn: asyncpg.Connection, job_id: UUID) -> None:
    rows = await conn.fetch(
        "UPDATE queue.job_steps SET status = 'skipped', finished_at = now() "
        "WHERE job_id = $1 AND status IN ('pending', 'running') RETURNING *",
        job_id,
    )
    for row in sorted(rows, key=lambda r: r["ordinal"]):
        await step_event(conn, job_id, row)


async def artifact_event(conn: asyncpg.Connection, job_id: UUID, stored: ArtifactStored) -> None:
    seq, workspace = await _next_seq(conn, job_id)
    event = ArtifactEvent(
        job_id=str(job_id),
        workspace=workspace,
        seq=seq,
        at=now(),
        artifact_id=stored.artifact_id,
        kind=stored.kind,
        name=stored.name,
        size=stored.size,
        content_type=stored.content_type,
        ordinal=stored.ordinal,
    )
    await _record(conn, job_id, workspace, seq, "artifact", _encode(event))


async def approval_event(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    seq, workspace = await _next_seq(conn, row["job_id"])
    event = ApprovalEvent(
        job_id=str(row["job_id"]),
        workspace=workspace,
        seq=seq,
        at=now(),
        approval_id=str(row["id"]),
        ordinal=row["ordinal"],
        state=row["state"],
        description=row["description"],
        risk_level=row["risk_level"],
        captured=row["captured"],
        screenshot_artifact_id=str(row["screenshot_artifact_id"])
        if row["screenshot_artifact_id"]
        else None,
        deadline=row["deadline"],
        actor=row["actor"],
        reason=row["reason"],
        kind=row["kind"],
        error=msgspec.convert(row["error"], StepError) if row["error"] else None,
        step=row["failed_step"],
    )
    await _record(conn, row["job_id"], workspace, seq, "approval", _encode(event))


async def report_event(conn: asyncpg.Connection, job_id: UUID, report: ExecutionReport) -> None:
    seq, workspace = await _next_seq(conn, job_id)
    event = ReportEvent(job_id=str(job_id), workspace=workspace, seq=seq, at=now(), report=report)
    await _record(conn, job_id, workspace, seq, "report", _encode(event))


async def finish(
    conn: asyncpg.Connection,
    job_id: UUID,
    to: JobStatus,
    allowed_from: tuple[str, ...],
    *,
    reason: str | None = None,
    actor: str | None = None,
    memory_collections: dict[str, int] | None = None,
    files: list[FileRef] | None = None,
) -> asyncpg.Record:
    """Terminal transition: unfinished steps become ``skipped``, the execution report is stored
    and announced, then the status changes; secrets are dropped. One transaction."""
    await skip_unfinished_steps(conn, job_id)
    report = await build_job_report(
        conn, job_id, to, reason, memory_collections or {}, files or [], actor
    )
    await store_report(conn, job_id, report)
    await report_event(conn, job_id, report)
    row = await transition(
        conn, job_id, to, allowed_from, reason=reason, actor=actor, sets={"lease_expires_at": None}
    )
    await conn.execute("DELETE FROM queue.job_secrets WHERE job_id = $1", job_id)
    return row
