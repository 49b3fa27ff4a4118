"""Jobs as the API shows them (``runwright_proto.api.jobs``), read from the queue service's
tables (it is their only writer)."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from runwright_proto.api.jobs import (
    RUNBOOK_LABEL,
    VERSION_LABEL,
    JobCounts,
    JobPage,
    JobSummary,
    JobView,
    Metrics,
    StepView,
    allowed_actions,
)
from runwright_proto.commands import SubmitJob, SubmitReply
from runwright_proto.jobs import JOB_STATUSES, TERMINAL
from runwright_runbook.parse import FieldError

from runwright_gateway.problems import invalid


def duration_ms(row: asyncpg.Record) -> int | None:
    started, finished = row["started_at"], row["finished_at"]
    if started is None:
        return None
    if finished is None:
        return None
    return int((finished - started).total_seconds() * 1000)


SUMMARY_COLUMNS = """
    j.id, j.title, j.status, j.trigger, j.priority, j.labels, j.created_at, j.started_at,
    j.finished_at, j.steps_total, j.reason, j.event_seq, j.batch_id, j.version, j.submitted_by,
    (SELECT ARRAY[count(*) FILTER (WHERE s.status IN ('success', 'failed')),
                  count(*) FILTER (WHERE s.status = 'success')]
       FROM queue.job_steps s WHERE s.job_id = j.id) AS step_counts
"""
"""One pass over a job's steps gives both counts: [ran to an end, succeeded]."""


def summary(row: asyncpg.Record) -> JobSummary:
    return JobSummary(
        id=str(row["id"]),
        batch_id=str(row["batch_id"]) if row["batch_id"] else None,
        title=row["title"],
        status=row["status"],
        trigger=row["trigger"],
        priority=row["priority"],
        labels=row["labels"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        duration_ms=duration_ms(row),
        steps_total=row["steps_total"],
        steps_done=row["step_counts"][0],
        steps_succeeded=row["step_counts"][1],
        reason=row["reason"],
        last_event_seq=row["event_seq"],
        submitted_by=row["submitted_by"],
        **stored_runbook(row["labels"]),
    )


def stored_runbook(labels: dict[str, str]) -> dict[str, Any]:
    """``runbook_slug`` and ``runbook_version`` from the labels the gateway set."""
    slug, number = labels.get(RUNBOOK_LABEL), labels.get(VERSION_LABEL, "")
    if slug is None:
        return {}
    return {"runbook_slug": slug, "runbook_version": int(number) if number.isdigit() else None}


def encode_cursor(created_at: datetime, job_id: UUID) -> str:
    raw = f"{created_at.isoformat()}|{job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, job_id = raw.partition("|")
        return datetime.fromisoformat(stamp), UUID(job_id)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise invalid([FieldError("cursor", "not a cursor this API returned")]) from exc


async def list_jobs(
    pool: asyncpg.Pool,
    *,
    workspace: str,
    status: str | None,
    limit: int,
    cursor: str | None,
    batch_id: UUID | None = None,
    trigger: str | None = None,
    search: str | None = None,
) -> JobPage:
    where, args = filters(workspace, batch_id, trigger, search)
    if status:
        args.append(status)
        where.append(f"j.status = ${len(args)}")
    if cursor:
        created_at, job_id = decode_cursor(cursor)
        args.extend([created_at, job_id])
        where.append(f"(j.created_at, j.id) < (${len(args) - 1}, ${len(args)})")
    args.append(limit + 1)
    rows = await pool.fetch(
        f"SELECT {SUMMARY_COLUMNS} FROM queue.jobs j WHERE {' AND '.join(where)} "
        f"ORDER BY j.created_at DESC, j.id DESC LIMIT ${len(args)}",
        *args,
    )
    items = [summary(r) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last["created_at"], last["id"])
    return JobPage(items=items, next_cursor=next_cursor)


def filters(
    workspace: str, batch_id: UUID | None, trigger: str | None, search: str | None
) -> tuple[list[str], list[Any]]:
    """SQL conditions on ``queue.jobs j`` (and their arguments) for the list's filters, always
    within the caller's workspace."""
    where: list[str] = ["j.workspace = $1"]
    args: list[Any] = [workspace]
    if batch_id:
        args.append(batch_id)
        where.append(f"j.batch_id = ${len(args)}")
    if trigger:
        args.append(trigger)
        where.append(f"j.trigger = ${len(args)}")
    if search:
        condition, value = search_condition(search, len(args) + 1)
        args.append(value)
        where.append(condition)
    return where, args


def search_condition(text: str, placeholder: int) -> tuple[str, Any]:
    """What the search box means: a job id, ``key=value`` for a label, else part of the title."""
    text = text.strip()
    try:
        return f"j.id = ${placeholder}", UUID(text)
    except ValueError:
        pass
    key, sep, value = text.partition("=")
    if sep and key.strip() and " " not in key.strip():
        return f"j.labels @> ${placeholder}::jsonb", {key.strip(): value.strip()}
    pattern = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"lower(j.title) LIKE ${placeholder}", f"%{pattern}%"


COUNT_LIMIT = 10_000
"""Counting the jobs a filter matches stops here; the counts are then lower bounds."""


async def job_counts(
    pool: asyncpg.Pool,
    workspace: str,
    batch_id: UUID | None = None,
    trigger: str | None = None,
    search: str | None = None,
) -> JobCounts:
    """Jobs per status (every status present, zero included). Without filters, exact from the
    maintained totals; with filters, counted over at most ``COUNT_LIMIT`` matching jobs."""
    if batch_id is None and trigger is None and search is None:
        rows = await pool.fetch(
            "SELECT status, sum(n)::bigint AS n FROM ("
            "  SELECT status, n FROM queue.job_counts WHERE workspace = $1"
            "  UNION ALL SELECT status, delta FROM queue.job_count_deltas WHERE workspace = $1"
            ") t GROUP BY status",
            workspace,
        )
        capped = False
    else:
        where, args = filters(workspace, batch_id, trigger, search)
        args.append(COUNT_LIMIT + 1)
        rows = await pool.fetch(
            "SELECT status, count(*) AS n FROM (SELECT j.status FROM queue.jobs j WHERE "
            f"{' AND '.join(where)} LIMIT ${len(args)}) t GROUP BY status",
            *args,
        )
        capped = sum(r["n"] for r in rows) > COUNT_LIMIT
    by_status = dict.fromkeys(JOB_STATUSES, 0)
    by_status.update({r["status"]: int(r["n"]) for r in rows if r["status"] in by_status})
    return JobCounts(total=sum(by_status.values()), by_status=by_status, capped=capped)


def step_view(row: asyncpg.Record) -> StepView:
    return StepView(
        ordinal=row["ordinal"],
        description=row["description"],
        description_template=row.get("description_template") or row["description"],
        action_type=row["action_type"],
        status=row["status"],
        duration_ms=row["duration_ms"],
        retries=row["retries"],
        captured=row["captured"],
        error=row["error"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


def new_job(cmd: SubmitJob, reply: SubmitReply) -> JobView | None:
    """The job the queue has just recorded, as ``get_job`` would read it then, built from the
    submission and the queue's answer: the submit answers without reading back what it wrote.
    None when the answer is not a fresh record (a retried submission: read it instead)."""
    if not reply.created or reply.created_at is None or reply.version is None:
        return None
    return JobView(
        id=cmd.job_id,
        batch_id=cmd.batch_id,
        title=cmd.title,
        status=reply.status,
        trigger=cmd.trigger,
        priority=cmd.priority,
        labels=cmd.labels,
        created_at=reply.created_at,
        started_at=None,
        finished_at=None,
        duration_ms=None,
        steps_total=len(cmd.steps),
        steps_done=0,
        steps_succeeded=0,
        reason=None,
        last_event_seq=1,
        submitted_by=cmd.submitted_by,
        **stored_runbook(cmd.labels),
        version=reply.version,
        allowed_actions=actions_for(reply.status, None),
        steps=[
            StepView(
                ordinal=s.ordinal,
                description=s.description,
                description_template=s.description,
                action_type=s.action_type,
                status="pending",
                duration_ms=None,
                retries=0,
                captured={},
                error=None,
                started_at=None,
                finished_at=None,
            )
            for s in cmd.steps
        ],
        metrics=Metrics(total_duration_ms=None, steps_succeeded=0, steps_failed=0, retry_count=0),
        report=None,
    )


async def get_job(pool: asyncpg.Pool, job_id: UUID, workspace: str) -> JobView | None:
    """The job, or None when it does not exist in ``workspace`` (another's is not revealed)."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        row = await conn.fetchrow(
            f"SELECT {SUMMARY_COLUMNS} FROM queue.jobs j WHERE j.id = $1 AND j.workspace = $2",
            job_id,
            workspace,
        )
        if row is None:
            return None
        steps = await conn.fetch(
            "SELECT * FROM queue.job_steps WHERE job_id = $1 ORDER BY ordinal", job_id
        )
        report = await conn.fetchval(
            "SELECT report FROM queue.job_reports WHERE job_id = $1", job_id
        )
        given = await conn.fetchrow(
            "SELECT variables, runbook -> 'variables' AS declared FROM queue.jobs WHERE id = $1",
            job_id,
        )
        kind = await conn.fetchval(
            "SELECT kind FROM queue.job_approvals WHERE job_id = $1 AND state = 'requested'"
            " ORDER BY requested_at DESC LIMIT 1",
            job_id,
        )
    views = [step_view(s) for s in steps]
    base = summary(row)
    metrics = Metrics(
        total_duration_ms=base.duration_ms,
        steps_succeeded=sum(1 for s in views if s.status == "success"),
        steps_failed=sum(1 for s in views if s.status == "failed"),
        retry_count=sum(s.retries for s in views),
    )
    return JobView(
        **{f: getattr(base, f) for f in base.__struct_fields__},
        version=row["version"],
        allowed_actions=actions_for(base.status, kind),
        variables=masked(given["variables"] or {}, given["declared"] or {}),
        steps=views,
        metrics=metrics,
        report=report,
    )


def masked(values: dict[str, Any], declared: dict[str, Any]) -> dict[str, Any]:
    """The job's values to show: a variable the runbook declares sensitive reads ``***``."""
    return {
        name: "***" if (declared.get(name) or {}).get("sensitive") else value
        for name, value in values.items()
    }


async def pending_kind(pool: asyncpg.Pool, job_id: UUID) -> str | None:
    """What a waiting job waits for: ``approval``, ``failure`` (a held failed step) or None."""
    kind: str | None = await pool.fetchval(
        "SELECT kind FROM queue.job_approvals WHERE job_id = $1 AND state = 'requested'"
        " ORDER BY requested_at DESC LIMIT 1",
        job_id,
    )
    return kind


def actions_for(status: str, kind: str | None) -> list[str]:
    """What the job allows now: a held failure is retried, skipped or failed (not approved); an
    approval is not retried."""
    shown = allowed_actions(status)
    drop = "approve" if kind == "failure" else "retry"
    return [a for a in shown if a != drop]


async def job_report(pool: asyncpg.Pool, job_id: UUID, workspace: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT r.report, r.markdown FROM queue.job_reports r JOIN queue.jobs j ON j.id = r.job_id"
        " WHERE r.job_id = $1 AND j.workspace = $2",
        job_id,
        workspace,
    )
    return row


async def job_status(pool: asyncpg.Pool, job_id: UUID, workspace: str) -> tuple[str, int] | None:
    row = await pool.fetchrow(
        "SELECT status, event_seq FROM queue.jobs WHERE id = $1 AND workspace = $2",
        job_id,
        workspace,
    )
    return (row["status"], row["event_seq"]) if row else None


def is_terminal(status: str) -> bool:
    return status in TERMINAL
