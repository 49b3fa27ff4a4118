"""The firing pass: find due schedules, claim each occurrence, submit its job to the queue.

Each schedule is handled in one transaction that holds its row (``FOR UPDATE SKIP LOCKED``, so
replicas share the work), and each occurrence is claimed by inserting its row: the primary key
``(schedule_id, fire_at)`` means an occurrence is recorded, and its job submitted, once. The job
id is derived from the occurrence, and the queue's submit is idempotent on it: when the
transaction does not commit (a crash, the queue not answering), the next pass submits the same
job again and the queue records it once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import structlog
from nats.aio.client import Client
from runwright_bus import request
from runwright_common.errors import PermanentError, RetryableError
from runwright_common.logging import get_logger
from runwright_common.tracing import tracer
from runwright_proto import subjects
from runwright_proto.commands import JobOptions, StepSpec, SubmitJob, SubmitReply
from runwright_proto.control import ActionReply, JobAction
from runwright_proto.jobs import TERMINAL
from runwright_proto.schedules import Outcome
from runwright_runbook.model import Runbook

from runwright_scheduler import catchup, following

log = get_logger("runwright.scheduler")

JOB_NAMESPACE = uuid.UUID("5b0d6a4e-6c1e-4d55-9a57-2f1f4f3c9e0b")
SCHEDULE_LABEL = "runwright.schedule"
"""Label on every job a schedule submitted; its value is the schedule id."""

_DUE = """
SELECT id FROM scheduler.schedules WHERE NOT paused AND next_fire_at <= $1
ORDER BY next_fire_at LIMIT $2
"""
_LOCK = """
SELECT * FROM scheduler.schedules WHERE id = $1 AND NOT paused AND next_fire_at <= $2
FOR UPDATE SKIP LOCKED
"""
_RECORD = """
INSERT INTO scheduler.occurrences (schedule_id, fire_at, outcome, job_id, detail)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING true
"""


@dataclass(frozen=True)
class Occurrence:
    schedule_id: str
    fire_at: datetime
    outcome: Outcome
    job_id: str | None = None
    detail: str | None = None


def occurrence_job_id(schedule_id: uuid.UUID, fire_at: datetime) -> uuid.UUID:
    """The job id of one occurrence: the same on every try, new for every occurrence."""
    return uuid.uuid5(JOB_NAMESPACE, f"{schedule_id}/{fire_at.timestamp():.0f}")


@dataclass(frozen=True)
class Firing:
    pool: asyncpg.Pool
    nc: Client
    catch_up: int = 1
    grace: timedelta = timedelta(seconds=60)
    timeout_s: float = 5.0
    batch: int = 100

    async def fire_due(self, now: datetime) -> list[Occurrence]:
        """One pass at ``now``: handle every due schedule; a schedule whose job could not be
        submitted is left due and tried again by the next pass."""
        handled: list[Occurrence] = []
        while True:
            due = await self.pool.fetch(_DUE, now, self.batch)
            before = len(handled)
            for row in due:
                try:
                    handled += await self.fire_schedule(row["id"], now)
                except RetryableError as exc:
                    log.warning(
                        "schedule not fired; the next pass tries again",
                        schedule_id=str(row["id"]),
                        error=str(exc),
                    )
                except Exception:  # one broken schedule must not stop the others
                    log.exception("schedule could not be fired", schedule_id=str(row["id"]))
            if len(due) < self.batch or len(handled) == before:
                return handled

    async def fire_schedule(self, schedule_id: uuid.UUID, now: datetime) -> list[Occurrence]:
        with (
            structlog.contextvars.bound_contextvars(schedule_id=str(schedule_id)),
            # The root of the trace of every job this firing submits.
            tracer("runwright.scheduler").start_as_current_span(
                "fire schedule", attributes={"runwright.schedule.id": str(schedule_id)}
            ),
        ):
            async with self.pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(_LOCK, schedule_id, now)
                if row is None:  # not due any more, or another replica holds it
                    return []
                return await self._handle(conn, row, now)

    async def _handle(
        self, conn: asyncpg.Connection, row: asyncpg.Record, now: datetime
    ) -> list[Occurrence]:
        plan = catchup.plan(
            row["cron"],
            row["timezone"],
            row["next_fire_at"],
            now,
            catch_up=self.catch_up,
            grace=self.grace,
        )
        handled: list[Occurrence | None] = [
            await self._missed(conn, row, plan, at) for at in plan.missed
        ]
        if plan.missed:
            log.warning(
                "missed occurrences recorded as skipped",
                missed=len(plan.missed),
                more_missed=plan.more_missed,
                since=plan.missed[0].isoformat(),
                firing=len(plan.fire),
            )
        previous: uuid.UUID | None = row["last_job_id"]
        last_fired: datetime | None = row["last_fired_at"]
        for at in plan.fire:
            occurrence = await self._occurrence(conn, row, at, previous)
            if occurrence is None:
                continue
            handled.append(occurrence)
            if occurrence.outcome == "fired" and occurrence.job_id:
                previous, last_fired = uuid.UUID(occurrence.job_id), at
        await conn.execute(
            "UPDATE scheduler.schedules SET next_fire_at = $2, last_fired_at = $3, "
            "last_job_id = $4 WHERE id = $1",
            row["id"],
            plan.next_fire_at,
            last_fired,
            previous,
        )
        return [o for o in handled if o is not None]

    async def _missed(
        self, conn: asyncpg.Connection, row: asyncpg.Record, plan: catchup.Plan, at: datetime
    ) -> Occurrence | None:
        detail = (
            f"missed: not fired by {at.isoformat()} + {self.grace.total_seconds():g}s "
            f"(the scheduler was not running or the queue did not answer); catch-up fires "
            f"only the latest {self.catch_up}"
        )
        if plan.more_missed and at == plan.missed[0]:
            detail += (
                f"; earlier occurrences since {row['next_fire_at'].isoformat()} were missed too"
            )
        if await conn.fetchval(_RECORD, row["id"], at, "skipped_missed", None, detail):
            return Occurrence(str(row["id"]), at, "skipped_missed", detail=detail)
        return None

    async def _occurrence(
        self,
        conn: asyncpg.Connection,
        row: asyncpg.Record,
        at: datetime,
        previous: uuid.UUID | None,
    ) -> Occurrence | None:
        """Claim the occurrence, apply the overlap policy, submit. None: claimed already."""
        schedule_id = row["id"]
        if not await conn.fetchval(_RECORD, schedule_id, at, "fired", None, None):
            return None
        active = await _active_status(conn, previous) if row["overlap"] != "allow" else None
        outcome: Outcome = "fired"
        job_id: uuid.UUID | None = None
        detail: str | None = None
        if active and row["overlap"] == "skip":
            outcome, detail = "skipped_overlap", f"the previous job {previous} is still {active}"
        else:
            if active and previous is not None:
                detail = await self._cancel(previous, row["name"])
            job_id = occurrence_job_id(schedule_id, at)
            source = await following.template(conn, row)
            if isinstance(source, str):
                outcome, detail, job_id = "failed", source, None
            elif refused := await self._submit(job_of(source, job_id)):
                outcome, detail, job_id = "failed", refused, None
        await conn.execute(
            "UPDATE scheduler.occurrences SET outcome = $3, job_id = $4, detail = $5 "
            "WHERE schedule_id = $1 AND fire_at = $2",
            schedule_id,
            at,
            outcome,
            job_id,
            detail,
        )
        log.info(
            "occurrence handled",
            fire_at=at.isoformat(),
            outcome=outcome,
            job_id=str(job_id) if job_id else None,
            detail=detail,
        )
        return Occurrence(str(schedule_id), at, outcome, str(job_id) if job_id else None, detail)

    async def _submit(self, job: SubmitJob) -> str | None:
        """None once the queue recorded the job; why, when it refused it for good."""
        try:
            reply: SubmitReply = await request(
                self.nc, subjects.SUBMIT, job, SubmitReply, timeout=self.timeout_s
            )
        except PermanentError as exc:
            return f"the queue refused the job: {exc}"
        if reply.status == "rejected":  # the queue is full: leave the occurrence due
            raise RetryableError(f"the queue did not take the job yet: {reply.reason}")
        return None

    async def _cancel(self, job_id: uuid.UUID, name: str) -> str:
        """Ask the queue to cancel the previous job; its answer (or silence) goes in the detail."""
        action = JobAction(
            job_id=str(job_id),
            action="cancel",
            actor="scheduler",
            reason=f"schedule {name!r} fired again (overlap: cancel_previous)",
        )
        try:
            reply: ActionReply = await request(
                self.nc, subjects.ACTION, action, ActionReply, timeout=self.timeout_s
            )
        except (RetryableError, PermanentError) as exc:
            log.warning("could not cancel the previous job", job_id=str(job_id), error=str(exc))
            return f"could not cancel the previous job {job_id}: {exc}"
        if reply.applied:
            return f"cancelled the previous job {job_id}"
        return f"the previous job {job_id} was not cancelled: it is {reply.status}"


async def _active_status(conn: asyncpg.Connection, job_id: uuid.UUID | None) -> str | None:
    """The status of the job when it is still active (not finished), else None."""
    if job_id is None:
        return None
    status: str | None = await conn.fetchval("SELECT status FROM queue.jobs WHERE id = $1", job_id)
    return status if status is not None and status not in TERMINAL else None


def job_of(row: asyncpg.Record | dict[str, Any], job_id: uuid.UUID) -> SubmitJob:
    """The job one occurrence submits, from the template the gateway built."""
    return SubmitJob(
        job_id=str(job_id),
        title=row["title"],
        runbook=msgspec.convert(row["runbook"], Runbook),
        steps=msgspec.convert(row["steps"], list[StepSpec]),
        variables=row["variables"],
        priority=row["priority"],
        trigger="schedule",
        submitted_by="scheduler",
        labels={**row["labels"], SCHEDULE_LABEL: str(row["id"])},
        options=msgspec.convert(row["options"], JobOptions),
        workspace=row["workspace"],
    )
