"""Recording new jobs: job, steps, sealed secrets, the ``queued`` event and dispatch, at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal, NamedTuple
from uuid import UUID

import asyncpg
import msgspec
from opentelemetry import baggage
from runwright_common.tracing import current_carrier, inject_headers, with_job
from runwright_db.outbox import Carrier, enqueue, enqueue_many
from runwright_proto import subjects
from runwright_proto.commands import (
    DispatchJob,
    SubmitBatch,
    SubmitBatchReply,
    SubmitJob,
    SubmitReply,
)

from runwright_queue import job_metrics, limits, vault
from runwright_queue.journal import OUTBOX, first_event, record_events
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


JOBS_FROM_JSON = """
INSERT INTO queue.jobs (id, workspace, title, status, priority, trigger, submitted_by, labels,
                        runbook, variables, steps_total, batch_id, data, options, run_at,
                        trace, event_seq, created_at)
SELECT r.id, r.workspace, r.title, r.status, r.priority, r.trigger, r.submitted_by, r.labels,
       r.runbook, r.variables, r.steps_total, r.batch_id, r.data, r.options, r.run_at, r.trace,
       1, clock_timestamp()
FROM jsonb_to_recordset($1::jsonb) AS r(n int, id uuid, workspace text, title text, status text,
     priority int, trigger text, submitted_by text, labels jsonb, runbook jsonb, variables jsonb,
     steps_total int, batch_id uuid, data jsonb, options jsonb, run_at timestamptz, trace jsonb)
ORDER BY r.n
ON CONFLICT (id) DO NOTHING
RETURNING id, created_at, version
"""
"""Every job of a group in one statement; the first event (``queued`` or ``scheduled``) is seq 1,
so the row starts at ``event_seq`` 1. A job id already recorded (a retried submission) is left as
it is and not returned."""

STEPS_FROM_JSON = """
INSERT INTO queue.job_steps (job_id, ordinal, description, description_template, action_type)
SELECT s.job_id, s.ordinal, s.description, s.description, s.action_type
FROM jsonb_to_recordset($1::jsonb) AS s(job_id uuid, ordinal int, description text,
     action_type text)
"""


def job_trace(cmd: SubmitJob) -> Carrier:
    """The job's trace context: the current span (the submission's) and the job's ids as its
    only baggage (whatever baggage a caller sent with its HTTP request stops here). Stored with
    the job; its dispatch, events and run carry it."""
    return inject_headers({}, with_job(baggage.clear(), job_id=cmd.job_id, workspace=cmd.workspace))


def _row(n: int, cmd: SubmitJob, trace: Carrier) -> dict[str, object]:
    return {
        "n": n,
        "id": cmd.job_id,
        "workspace": cmd.workspace,
        "title": cmd.title,
        "status": _initial(cmd),
        "priority": cmd.priority,
        "trigger": cmd.trigger,
        "submitted_by": cmd.submitted_by,
        "labels": cmd.labels,
        "runbook": cmd.runbook,
        "variables": cmd.variables,
        "steps_total": len(cmd.steps),
        "batch_id": cmd.batch_id,
        "data": cmd.data,
        "options": cmd.options,
        "run_at": cmd.run_at,
        "trace": trace or None,
    }


async def _record(
    conn: asyncpg.Connection,
    cmds: list[SubmitJob],
    keys: Keyring,
    traces: dict[str, Carrier] | None = None,
) -> dict[str, Recorded]:
    """Insert jobs (their steps, sealed secrets, first event and dispatch) in a few statements
    whatever their number; answers the ones inserted, by id. A job id already recorded (a
    retried submission) is not touched and not in the answer. ``traces`` has each job's trace
    context by id when its submission was grouped with others (default: :func:`job_trace`)."""
    if not cmds:
        return {}
    known = traces or {}
    trace = {c.job_id: known.get(c.job_id) or job_trace(c) for c in cmds}
    rows = await conn.fetch(
        JOBS_FROM_JSON,
        msgspec.to_builtins([_row(n, c, trace[c.job_id]) for n, c in enumerate(cmds)]),
    )
    inserted = {str(r["id"]): Recorded(r["created_at"], r["version"]) for r in rows}
    fresh = [c for c in cmds if c.job_id in inserted]
    steps = [{"job_id": c.job_id, **msgspec.to_builtins(s)} for c in fresh for s in c.steps]
    if steps:
        await conn.execute(STEPS_FROM_JSON, steps)
    for cmd in fresh:
        if cmd.secrets:
            await vault.store(conn, UUID(cmd.job_id), cmd.secrets, keys)
    events: list[tuple[UUID, str, int, str, bytes]] = []
    dispatches: list[tuple[bytes, Carrier]] = []
    for cmd in fresh:
        status = _initial(cmd)
        reason = (
            f"runs at {cmd.run_at.isoformat()}" if status == "scheduled" and cmd.run_at else None
        )
        event = first_event(
            cmd.job_id,
            status,
            workspace=cmd.workspace,
            actor=cmd.submitted_by,
            reason=reason,
        )
        events.append((UUID(cmd.job_id), cmd.workspace, 1, "status", event))
        if status == "queued":
            dispatch = _encode(DispatchJob(job_id=cmd.job_id, priority=cmd.priority))
            dispatches.append((dispatch, trace[cmd.job_id]))
    await record_events(conn, events, traces=[trace[str(e[0])] for e in events])
    await enqueue_many(
        conn,
        OUTBOX,
        [(subjects.DISPATCH, d) for d, _ in dispatches],
        traces=[t for _, t in dispatches],
    )
    job_metrics.submitted(conn, (c.workspace for c in fresh))
    return inserted


class Recorded(NamedTuple):
    created_at: datetime
    version: int


async def dispatch(conn: asyncpg.Connection, job_id: str, priority: int) -> None:
    """Wake an executor: the message is a nudge; the claim picks the best eligible job. Sent
    from no span (a timer's pass), it goes out in the job's own trace."""
    trace = None
    if not current_carrier().get("traceparent"):
        trace = await conn.fetchval("SELECT trace FROM queue.jobs WHERE id = $1", UUID(job_id))
    await enqueue(
        conn,
        OUTBOX,
        subjects.DISPATCH,
        _encode(DispatchJob(job_id=job_id, priority=priority)),
        trace=trace,
    )


def _accepted(cmd: SubmitJob, recorded: Recorded) -> SubmitReply:
    return SubmitReply(
        job_id=cmd.job_id,
        status=_initial(cmd),
        created=True,
        created_at=recorded.created_at,
        version=recorded.version,
    )


async def submit_many(
    pool: asyncpg.Pool,
    cmds: list[SubmitJob],
    max_queued: int = 10_000,
    *,
    keys: Keyring,
    traces: dict[str, Carrier] | None = None,
) -> list[SubmitReply]:
    """Independent submissions recorded in one transaction (a group commit), answered in order.
    ``traces``: each job's trace context by id (its own request's, not the group's).

    Idempotent on ``job_id``: a retried submission answers with the job already recorded. Each
    job is admitted against its workspace's waiting jobs counted with those admitted before it.
    """
    ids = [UUID(c.job_id) for c in cmds]
    async with pool.acquire() as conn, conn.transaction():
        known = {
            str(r["id"]): r["status"]
            for r in await conn.fetch(
                "SELECT id, status FROM queue.jobs WHERE id = ANY($1::uuid[])", ids
            )
        }
        workspaces = sorted({c.workspace for c in cmds if c.job_id not in known})
        waiting = {
            r["workspace"]: r["waiting"]
            for r in await conn.fetch(
                "SELECT workspace, count(*) AS waiting FROM queue.jobs "
                "WHERE workspace = ANY($1::text[]) AND status IN ('queued', 'scheduled') "
                "GROUP BY workspace",
                workspaces,
            )
        }
        cap = await limits.caps(conn, workspaces, max_queued)
        admitted: list[SubmitJob] = []
        refused: dict[str, int] = {}
        seen: set[str] = set()
        for cmd in cmds:
            if cmd.job_id in known or cmd.job_id in seen:
                continue
            seen.add(cmd.job_id)
            if waiting.get(cmd.workspace, 0) + 1 > cap[cmd.workspace]:
                refused[cmd.job_id] = cap[cmd.workspace]
                continue
            waiting[cmd.workspace] = waiting.get(cmd.workspace, 0) + 1
            admitted.append(cmd)
        recorded = await _record(conn, admitted, keys, traces)
        late = [UUID(c.job_id) for c in admitted if c.job_id not in recorded]
        if late:  # recorded meanwhile by another transaction: the same retried submission
            for r in await conn.fetch(
                "SELECT id, status FROM queue.jobs WHERE id = ANY($1::uuid[])", late
            ):
                known[str(r["id"])] = r["status"]
    replies = []
    answered: set[str] = set()
    for cmd in cmds:
        if cmd.job_id in recorded and cmd.job_id not in answered:
            answered.add(cmd.job_id)
            replies.append(_accepted(cmd, recorded[cmd.job_id]))
        elif cmd.job_id in refused:
            replies.append(
                SubmitReply(
                    job_id=cmd.job_id,
                    status="rejected",
                    created=False,
                    reason=f"the workspace's queue holds {refused[cmd.job_id]} waiting jobs",
                    retry_after_s=RETRY_AFTER_S,
                )
            )
        else:
            status = known.get(cmd.job_id) or _initial(cmd)
            replies.append(SubmitReply(job_id=cmd.job_id, status=status, created=False))
    return replies


async def submit(
    pool: asyncpg.Pool, cmd: SubmitJob, max_queued: int = 10_000, *, keys: Keyring
) -> SubmitReply:
    """One submission; idempotent on ``job_id``."""
    return (await submit_many(pool, [cmd], max_queued, keys=keys))[0]


async def submit_batch(
    pool: asyncpg.Pool, cmd: SubmitBatch, max_queued: int = 10_000, *, keys: Keyring
) -> SubmitBatchReply:
    """Every job of the batch in one transaction: all are recorded, or none."""
    async with pool.acquire() as conn, conn.transaction():
        workspace = cmd.jobs[0].workspace if cmd.jobs else "default"
        cap = (await limits.caps(conn, [workspace], max_queued))[workspace]
        if await queue_full(conn, workspace, len(cmd.jobs), cap):
            return SubmitBatchReply(
                batch_id=cmd.batch_id,
                job_ids=[],
                created=False,
                rejected=f"the workspace's queue holds {cap} waiting jobs",
                retry_after_s=RETRY_AFTER_S,
            )
        recorded = await _record(conn, list(cmd.jobs), keys)
    return SubmitBatchReply(
        batch_id=cmd.batch_id,
        job_ids=[j.job_id for j in cmd.jobs],
        created=len(recorded) == len(cmd.jobs),
    )
