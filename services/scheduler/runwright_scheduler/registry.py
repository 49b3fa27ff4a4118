"""Recording schedules: create, replace (only at the version the caller saw) and delete.

The scheduler is the only writer of its tables; the gateway asks over NATS. Whenever the timing of
a schedule changes (cron, time zone, paused), its next occurrence is computed afresh from now:
occurrences that fell while it was paused or under another cron are not caught up.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg
import msgspec
from runwright_common.logging import get_logger
from runwright_proto.schedules import (
    CreateSchedule,
    DeleteSchedule,
    ScheduleReply,
    ScheduleSpec,
    UpdateSchedule,
    fire_times,
    schedule_errors,
)

log = get_logger("runwright.scheduler")

_COLUMNS = """name, cron, timezone, title, runbook, steps, variables, options, priority, labels,
    requested, overlap, paused, next_fire_at, workspace, runbook_ref"""


def _values(spec: ScheduleSpec, next_fire_at: datetime | None) -> list[object]:
    job = spec.job
    return [
        spec.name,
        spec.cron,
        spec.timezone,
        job.title,
        msgspec.to_builtins(job.runbook),
        msgspec.to_builtins(job.steps),
        job.variables,
        msgspec.to_builtins(job.options),
        job.priority,
        job.labels,
        msgspec.to_builtins(spec.requested),
        spec.overlap,
        spec.paused,
        next_fire_at,
        job.workspace,
        spec.runbook_ref,
    ]


@dataclass(frozen=True)
class Registry:
    pool: asyncpg.Pool
    clock: Callable[[], datetime]

    def _next(self, spec: ScheduleSpec) -> datetime | None:
        if spec.paused:
            return None
        return fire_times(spec.cron, spec.timezone, self.clock(), 1)[0]

    async def create(self, cmd: CreateSchedule) -> ScheduleReply:
        if errors := schedule_errors(cmd.spec.cron, cmd.spec.timezone):
            return ScheduleReply(schedule_id=cmd.schedule_id, outcome="invalid", errors=errors)
        schedule_id = uuid.UUID(cmd.schedule_id)
        version = await self.pool.fetchval(
            f"INSERT INTO scheduler.schedules (id, {_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) "
            "ON CONFLICT (id) DO NOTHING RETURNING version",
            schedule_id,
            *_values(cmd.spec, self._next(cmd.spec)),
        )
        if version is None:  # a retried request: the schedule is recorded already
            version = await self.pool.fetchval(
                "SELECT version FROM scheduler.schedules WHERE id = $1", schedule_id
            )
        else:
            log.info(
                "schedule created",
                schedule_id=cmd.schedule_id,
                cron=cmd.spec.cron,
                timezone=cmd.spec.timezone,
            )
        return ScheduleReply(schedule_id=cmd.schedule_id, outcome="created", version=version)

    async def update(self, cmd: UpdateSchedule) -> ScheduleReply:
        spec = cmd.spec
        if errors := schedule_errors(spec.cron, spec.timezone):
            return ScheduleReply(schedule_id=cmd.schedule_id, outcome="invalid", errors=errors)
        schedule_id = uuid.UUID(cmd.schedule_id)
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT cron, timezone, paused, version, next_fire_at FROM scheduler.schedules "
                "WHERE id = $1 FOR UPDATE",
                schedule_id,
            )
            if row is None:
                return ScheduleReply(schedule_id=cmd.schedule_id, outcome="not_found")
            if row["version"] != cmd.version:
                return _conflict(cmd.schedule_id, row["version"], cmd.version)
            same_timing = (row["cron"], row["timezone"], row["paused"]) == (
                spec.cron,
                spec.timezone,
                spec.paused,
            )
            next_fire_at = row["next_fire_at"] if same_timing else self._next(spec)
            sets = ", ".join(f"{c.strip()} = ${i + 2}" for i, c in enumerate(_COLUMNS.split(",")))
            version = await conn.fetchval(
                f"UPDATE scheduler.schedules SET {sets}, version = version + 1, "
                "updated_at = now() WHERE id = $1 RETURNING version",
                schedule_id,
                *_values(spec, next_fire_at),
            )
        log.info(
            "schedule updated", schedule_id=cmd.schedule_id, version=version, paused=spec.paused
        )
        return ScheduleReply(schedule_id=cmd.schedule_id, outcome="updated", version=version)

    async def delete(self, cmd: DeleteSchedule) -> ScheduleReply:
        schedule_id = uuid.UUID(cmd.schedule_id)
        async with self.pool.acquire() as conn, conn.transaction():
            version = await conn.fetchval(
                "SELECT version FROM scheduler.schedules WHERE id = $1 FOR UPDATE", schedule_id
            )
            if version is None:
                return ScheduleReply(schedule_id=cmd.schedule_id, outcome="not_found")
            if cmd.version is not None and version != cmd.version:
                return _conflict(cmd.schedule_id, version, cmd.version)
            await conn.execute("DELETE FROM scheduler.schedules WHERE id = $1", schedule_id)
        log.info("schedule deleted", schedule_id=cmd.schedule_id)
        return ScheduleReply(schedule_id=cmd.schedule_id, outcome="deleted", version=version)


def _conflict(schedule_id: str, current: int, expected: int) -> ScheduleReply:
    return ScheduleReply(
        schedule_id=schedule_id,
        outcome="conflict",
        version=current,
        detail=f"the schedule is at version {current}, not {expected}: read it again",
    )
