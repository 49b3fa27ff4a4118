"""``/api/v1/schedules``: recurring jobs on a cron line in a time zone.

The runbook is validated like a job request and the job each occurrence submits is built here;
the scheduler service, the only writer of its tables, records and fires it. Reads go straight to
its tables.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import asyncpg
import msgspec
from cron_descriptor import CasingTypeEnum, Options, get_description
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import HeaderParameter, Parameter
from runwright_bus import request as nats_request
from runwright_common.logging import get_logger
from runwright_proto import schedules
from runwright_proto.api.jobs import JobRequest
from runwright_proto.api.schedules import (
    OccurrenceList,
    OccurrenceView,
    ScheduleChange,
    SchedulePage,
    ScheduleRequest,
    ScheduleView,
)
from runwright_proto.schedules import (
    CreateSchedule,
    DeleteSchedule,
    JobTemplate,
    Requested,
    ScheduleReply,
    ScheduleSpec,
    UpdateSchedule,
    fire_times,
    schedule_errors,
)
from runwright_runbook.parse import FieldError, field_error_from_msgspec

from runwright_gateway import library
from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.problems import Problem, invalid, not_found
from runwright_gateway.responses import problems
from runwright_gateway.submissions import build_submission
from runwright_gateway.views import decode_cursor, encode_cursor

log = get_logger("runwright.gateway.schedules")
NEXT_FIRE_TIMES = 5
_LAST = uuid.UUID(int=(1 << 128) - 1)
Limit = Annotated[int, Parameter(ge=1, le=200)]
NO_SECRETS = (
    "schedules cannot hold secrets yet; pass non-secret values in `variables`, or submit "
    "the job with its secrets through POST /api/v1/jobs"
)


async def build_spec(
    pool: asyncpg.Pool, body: ScheduleRequest, env_prefix: str, workspace: str
) -> ScheduleSpec:
    """Validate a schedule's definition; every problem, by field, in one 422. A stored runbook
    (``runbook_ref``) is resolved now: a following schedule's template holds the version
    published now, and each occurrence reads the one published then."""
    errors = schedule_errors(body.cron, body.timezone)
    if body.secrets:
        errors.append(FieldError("secrets", NO_SECRETS))
    requested = Requested(**{f: getattr(body, f) for f in Requested.__struct_fields__})
    request = JobRequest(
        runbook=body.runbook,
        runbook_ref=body.runbook_ref,
        variables=body.variables,
        title=body.name,
        **msgspec.structs.asdict(requested),
    )
    try:
        request = await library.resolved(pool, workspace, request)
        job = build_submission(
            request, submitted_by="scheduler", workspace=workspace, env_prefix=env_prefix
        )
    except Problem as exc:
        if exc.status != 422:
            raise
        errors += exc.errors
    if errors:
        raise invalid(errors)
    return ScheduleSpec(
        name=body.name or job.title,
        cron=body.cron,
        timezone=body.timezone,
        job=JobTemplate(**{f: getattr(job, f) for f in JobTemplate.__struct_fields__}),
        requested=requested,
        overlap=body.overlap,
        paused=body.paused,
        runbook_ref=body.runbook_ref,
    )


_DEFINED = ("name", "cron", "timezone", "runbook", "runbook_ref", "variables", "overlap", "paused")
_SHOWN = (*_DEFINED, "version", "priority", "labels", "created_at", "updated_at")


def definition(row: asyncpg.Record) -> dict[str, Any]:
    """A recorded schedule as the request that would create it, for PATCH to change."""
    requested: dict[str, Any] = row["requested"]
    shown = {f: row[f] for f in _DEFINED} | requested
    # One source of the runbook: the stored one it names, or its own.
    del shown["runbook" if row["runbook_ref"] else "runbook_ref"]
    return shown


def changed(row: asyncpg.Record, change: ScheduleChange) -> ScheduleRequest:
    """The recorded schedule with the fields a PATCH sent replaced (a runbook sent replaces a
    runbook_ref, and the other way round)."""
    sent = change.changes()
    merged = definition(row)
    if "runbook" in sent:
        merged.pop("runbook_ref", None)
    if sent.get("runbook_ref") is not None:
        merged.pop("runbook", None)
    try:
        return msgspec.convert({**merged, **sent}, ScheduleRequest)
    except msgspec.ValidationError as exc:
        raise invalid([field_error_from_msgspec(exc)]) from exc


def in_words(cron: str) -> str:
    """The cron line as people read it, 24-hour clock ("At 06:00, Monday through Friday")."""
    options = Options(use_24hour_time_format=True, casing_type=CasingTypeEnum.Sentence)
    try:
        return str(get_description(cron, options))
    except Exception:  # a line the scheduler accepts but the describer does not know
        log.info("cron line not described", cron=cron)
        return ""


def view(row: asyncpg.Record, now: datetime) -> ScheduleView:
    zone = ZoneInfo(row["timezone"])
    declared = row["runbook"].get("variables", {})
    variables = {
        k: "***" if declared.get(k, {}).get("sensitive") else v for k, v in row["variables"].items()
    }
    upcoming = (
        [] if row["paused"] else fire_times(row["cron"], row["timezone"], now, NEXT_FIRE_TIMES)
    )
    return ScheduleView(
        **{f: row[f] for f in _SHOWN if f != "variables"},
        id=str(row["id"]),
        description=in_words(row["cron"]),
        variables=variables,
        screenshots=row["options"].get("screenshots", False),
        video=row["options"].get("video", False),
        next_fire_at=row["next_fire_at"] and row["next_fire_at"].astimezone(zone),
        last_fired_at=row["last_fired_at"] and row["last_fired_at"].astimezone(zone),
        last_job_id=row["last_job_id"] and str(row["last_job_id"]),
        next_fire_times=upcoming,
    )


def if_match(header: str | None) -> int | None:
    """The version the caller saw (``If-Match: "<version>"``): change nothing if it moved on."""
    try:
        return int(header.strip().removeprefix("W/").strip('"')) if header else None
    except ValueError as exc:
        raise invalid([FieldError("If-Match", 'expected the schedule version, e.g. "3"')]) from exc


async def fetch(pool: asyncpg.Pool, schedule_id: uuid.UUID, workspace: str) -> asyncpg.Record:
    """A schedule of this workspace; another workspace's is as absent as one never made."""
    row = await pool.fetchrow(
        "SELECT * FROM scheduler.schedules WHERE id = $1 AND workspace = $2", schedule_id, workspace
    )
    if row is None:
        raise not_found(f"schedule {schedule_id}")
    return row


async def ask(request: Request[Any, Any, Any], subject: str, message: Any) -> ScheduleReply:
    state = request.app.state
    reply: ScheduleReply = await nats_request(
        state.nc, subject, message, ScheduleReply, timeout=state.settings.request_timeout_s
    )
    if reply.outcome == "invalid":
        raise invalid(reply.errors)
    if reply.outcome == "not_found":
        raise not_found(f"schedule {reply.schedule_id}")
    if reply.outcome == "conflict":
        detail = reply.detail or "the schedule changed"
        raise Problem(409, "Conflict", detail, code="conflict", version=reply.version)
    return reply


def answer(row: asyncpg.Record, status_code: int = 200) -> Response[ScheduleView]:
    headers = {"ETag": f'"{row["version"]}"'}
    if status_code == 201:
        headers["Location"] = f"/api/v1/schedules/{row['id']}"
    return Response(view(row, datetime.now(UTC)), status_code=status_code, headers=headers)


IfMatch = Annotated[
    str | None,
    HeaderParameter(name="If-Match", description='The schedule version you saw, e.g. "3"'),
]


class SchedulesController(Controller):
    path = "/api/v1/schedules"
    guards = [authorize]
    security = SECURITY

    @post("/", status_code=201, responses=problems(400))
    async def create(
        self, request: Request[Any, Any, Any], data: ScheduleRequest
    ) -> Response[ScheduleView]:
        """Create a schedule: ``cron`` (5 fields), ``timezone`` (IANA) and a job request."""
        workspace = principal(request).workspace
        pool = request.app.state.pool
        spec = await build_spec(pool, data, request.app.state.settings.env_prefix, workspace)
        schedule_id = uuid.uuid4()
        message = CreateSchedule(schedule_id=str(schedule_id), spec=spec)
        await ask(request, schedules.CREATE, message)
        return answer(await fetch(request.app.state.pool, schedule_id, workspace), 201)

    @get("/", responses=problems())
    async def list_schedules(
        self, request: Request[Any, Any, Any], limit: Limit = 50, cursor: str | None = None
    ) -> SchedulePage:
        """Newest first; ``next_cursor`` reads on."""
        after = decode_cursor(cursor) if cursor else (datetime.max.replace(tzinfo=UTC), _LAST)
        rows = await request.app.state.pool.fetch(
            "SELECT * FROM scheduler.schedules "
            "WHERE workspace = $4 AND (created_at, id) < ($2, $3) "
            "ORDER BY created_at DESC, id DESC LIMIT $1",
            limit + 1,
            *after,
            principal(request).workspace,
        )
        now = datetime.now(UTC)
        last = rows[limit - 1] if len(rows) > limit else None
        return SchedulePage(
            items=[view(r, now) for r in rows[:limit]],
            next_cursor=encode_cursor(last["created_at"], last["id"]) if last else None,
        )

    @get("/{schedule_id:str}", responses=problems(404))
    async def read(
        self, request: Request[Any, Any, Any], schedule_id: uuid.UUID
    ) -> Response[ScheduleView]:
        """A schedule, its next fire times and its version (also the ``ETag``)."""
        return answer(
            await fetch(request.app.state.pool, schedule_id, principal(request).workspace)
        )

    @patch("/{schedule_id:str}", responses=problems(400, 404, 409))
    async def change(
        self,
        request: Request[Any, Any, Any],
        schedule_id: uuid.UUID,
        data: ScheduleChange,
        if_match_header: IfMatch = None,
    ) -> Response[ScheduleView]:
        """Change some fields; with ``If-Match`` only while the schedule is at that version."""
        pool, settings = request.app.state.pool, request.app.state.settings
        workspace = principal(request).workspace
        row = await fetch(pool, schedule_id, workspace)
        version = if_match(if_match_header)
        spec = await build_spec(pool, changed(row, data), settings.env_prefix, workspace)
        expected = row["version"] if version is None else version
        message = UpdateSchedule(schedule_id=str(row["id"]), version=expected, spec=spec)
        await ask(request, schedules.UPDATE, message)
        return answer(await fetch(pool, schedule_id, workspace))

    @delete("/{schedule_id:str}", status_code=204, responses=problems(404, 409))
    async def remove(
        self,
        request: Request[Any, Any, Any],
        schedule_id: uuid.UUID,
        if_match_header: IfMatch = None,
    ) -> None:
        """Delete a schedule (with ``If-Match``, only at that version); its jobs stay."""
        row = await fetch(request.app.state.pool, schedule_id, principal(request).workspace)
        message = DeleteSchedule(schedule_id=str(row["id"]), version=if_match(if_match_header))
        await ask(request, schedules.DELETE, message)

    @get("/{schedule_id:str}/occurrences", responses=problems(404))
    async def occurrences(
        self, request: Request[Any, Any, Any], schedule_id: uuid.UUID, limit: Limit = 50
    ) -> OccurrenceList:
        """What happened at each occurrence, newest first."""
        row = await fetch(request.app.state.pool, schedule_id, principal(request).workspace)
        zone = ZoneInfo(row["timezone"])
        rows = await request.app.state.pool.fetch(
            "SELECT * FROM scheduler.occurrences WHERE schedule_id = $1 "
            "ORDER BY fire_at DESC LIMIT $2",
            row["id"],
            limit,
        )
        items = [
            OccurrenceView(
                **{f: r[f] for f in ("outcome", "detail", "created_at")},
                fire_at=r["fire_at"].astimezone(zone),
                job_id=r["job_id"] and str(r["job_id"]),
            )
            for r in rows
        ]
        return OccurrenceList(items=items)
