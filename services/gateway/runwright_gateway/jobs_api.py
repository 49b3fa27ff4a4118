"""``/api/v1/jobs``: submit, list, read and follow jobs."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import ServerSentEvent
from runwright_bus import request as nats_request
from runwright_proto import subjects
from runwright_proto.commands import SubmitBatchReply, SubmitReply
from runwright_proto.control import ACTIONS, ActionReply, JobAction
from runwright_proto.jobs import JOB_STATUSES, TRIGGERS
from runwright_runbook.parse import FieldError, field_error_from_msgspec

from runwright_gateway import batches, sse, views
from runwright_gateway.auth import require_token
from runwright_gateway.problems import Problem, invalid, not_found
from runwright_gateway.submissions import build_batch, build_submission, decode_request


class ActionBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def parse_job_id(job_id: str) -> UUID:
    try:
        return UUID(job_id)
    except ValueError as exc:
        raise not_found(f"job {job_id!r}") from exc


def queue_full(reason: str, retry_after_s: int | None) -> Problem:
    return Problem(
        429,
        "Too many waiting jobs",
        f"{reason}; try again later",
        code="queue_full",
        headers={"Retry-After": str(retry_after_s or 5)},
    )


def parse_uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise invalid([FieldError(field, f"not an id: {value!r}")]) from exc


def list_filters(
    batch_id: str | None, trigger: str | None, q: str | None
) -> tuple[UUID | None, str | None, str | None]:
    """The list's filters, checked: a batch id, a known trigger, the search text (or None)."""
    if trigger is not None and trigger not in TRIGGERS:
        raise invalid(
            [FieldError("trigger", f"unknown trigger {trigger!r}; one of " + ", ".join(TRIGGERS))]
        )
    batch = parse_uuid(batch_id, "batch_id") if batch_id else None
    return batch, trigger, q.strip() if q and q.strip() else None


def if_match(request: Request[Any, Any, Any]) -> int | None:
    """``If-Match: "<version>"``: act only on the job as the person saw it."""
    header = request.headers.get("if-match")
    if not header:
        return None
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise invalid([FieldError("If-Match", 'expected the job version, e.g. "7"')]) from exc


def last_event_id(request: Request[Any, Any, Any], after: int | None) -> int:
    header = request.headers.get("last-event-id")
    if header is None or header == "":
        return after or 0
    try:
        value = int(header)
    except ValueError as exc:
        raise invalid(
            [FieldError("Last-Event-ID", "must be an event id this stream sent")]
        ) from exc
    return max(value, 0)


class JobsController(Controller):
    path = "/api/v1/jobs"
    guards = [require_token]

    @post("/", status_code=201)
    async def submit(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """Submit a job, or a batch run when the request has ``data`` rows."""
        state = request.app.state
        body = decode_request(await request.body())
        timeout = state.settings.request_timeout_s
        if body.data is not None:
            batch = build_batch(body, submitted_by="admin", env_prefix=state.settings.env_prefix)
            done: SubmitBatchReply = await nats_request(
                state.nc, subjects.SUBMIT_BATCH, batch, SubmitBatchReply, timeout=timeout * 4
            )
            if done.rejected:
                raise queue_full(done.rejected, done.retry_after_s)
            view = await batches.get_batch(state.pool, UUID(done.batch_id))
            return Response(
                view, status_code=201, headers={"Location": f"/api/v1/batches/{done.batch_id}"}
            )
        command = build_submission(body, submitted_by="admin", env_prefix=state.settings.env_prefix)
        reply: SubmitReply = await nats_request(
            state.nc, subjects.SUBMIT, command, SubmitReply, timeout=timeout
        )
        if reply.status == "rejected":
            raise queue_full(reply.reason or "the queue is full", reply.retry_after_s)
        job = await views.get_job(state.pool, UUID(reply.job_id))
        assert job is not None
        return Response(job, status_code=201, headers={"Location": f"/api/v1/jobs/{reply.job_id}"})

    @get("/")
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        status: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: str | None = None,
        batch_id: str | None = None,
        trigger: str | None = None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> views.JobPage:
        """Newest first, a page at a time (keyset ``cursor``); filter by ``status``, ``trigger``
        (api, schedule, batch), ``batch_id``, and search with ``q``: a job id, ``key=value`` for a
        label, or part of the title."""
        if status is not None and status not in JOB_STATUSES:
            raise invalid(
                [
                    FieldError(
                        "status", f"unknown status {status!r}; one of " + ", ".join(JOB_STATUSES)
                    )
                ]
            )
        batch, trigger, search = list_filters(batch_id, trigger, q)
        return await views.list_jobs(
            request.app.state.pool,
            status=status,
            limit=limit,
            cursor=cursor,
            batch_id=batch,
            trigger=trigger,
            search=search,
        )

    @get("/counts")
    async def counts(
        self,
        request: Request[Any, Any, Any],
        batch_id: str | None = None,
        trigger: str | None = None,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> views.JobCounts:
        """How many jobs each status has, and in all. Without filters exact and cheap at any
        table size; with the list's filters counted over at most 10,000 matching jobs
        (``capped`` says the figures are lower bounds)."""
        batch, trigger, search = list_filters(batch_id, trigger, q)
        return await views.job_counts(
            request.app.state.pool, batch_id=batch, trigger=trigger, search=search
        )

    @get("/{job_id:str}")
    async def get_job(self, request: Request[Any, Any, Any], job_id: str) -> views.JobView:
        job = await views.get_job(request.app.state.pool, parse_job_id(job_id))
        if job is None:
            raise not_found(f"job {job_id}")
        return job

    @post("/{job_id:str}/{action:str}", status_code=200)
    async def act(self, request: Request[Any, Any, Any], job_id: str, action: str) -> Response[Any]:
        """approve, reject, skip, pause, resume or cancel; 409 when the status forbids it."""
        if action not in ACTIONS:
            raise not_found(f"action {action!r} (one of {', '.join(ACTIONS)})")
        uid = parse_job_id(job_id)
        state = request.app.state
        body = await request.body()
        reason = None
        if body.strip():
            try:
                reason = msgspec.json.decode(body, type=ActionBody).reason
            except msgspec.ValidationError as exc:
                raise invalid([field_error_from_msgspec(exc)]) from exc
            except msgspec.DecodeError as exc:
                raise invalid([FieldError("reason", f"the body is not valid JSON: {exc}")]) from exc
        reply: ActionReply = await nats_request(
            state.nc,
            subjects.ACTION,
            JobAction(
                job_id=str(uid),
                action=action,  # type: ignore[arg-type]
                actor="admin",
                reason=reason,
                request_id=request.headers.get("x-request-id"),
                version=if_match(request),
            ),
            ActionReply,
            timeout=state.settings.request_timeout_s,
        )
        if reply.status == "unknown":
            raise not_found(f"job {job_id}")
        if not reply.applied:
            raise Problem(
                409,
                "Conflict",
                reply.detail or f"the job is {reply.status}",
                code="conflict",
                job_status=reply.status,
            )
        job = await views.get_job(state.pool, uid)
        assert job is not None
        return Response(job, headers={"ETag": f'"{job.version}"'})

    @get("/{job_id:str}/report")
    async def report(self, request: Request[Any, Any, Any], job_id: str) -> Response[Any]:
        """The execution report as JSON, or as Markdown with ``Accept: text/markdown``."""
        row = await views.job_report(request.app.state.pool, parse_job_id(job_id))
        if row is None:
            raise not_found(f"a report for job {job_id} (it has not finished)")
        if "text/markdown" in request.headers.get("accept", ""):
            return Response(row["markdown"], media_type="text/markdown; charset=utf-8")
        return Response(row["report"])

    @get("/{job_id:str}/report.md")
    async def report_markdown(self, request: Request[Any, Any, Any], job_id: str) -> Response[str]:
        row = await views.job_report(request.app.state.pool, parse_job_id(job_id))
        if row is None:
            raise not_found(f"a report for job {job_id} (it has not finished)")
        return Response(
            row["markdown"],
            media_type="text/markdown; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="runwright-{job_id}.md"'},
        )

    @get("/{job_id:str}/events")
    async def events(
        self,
        request: Request[Any, Any, Any],
        job_id: str,
        after: int | None = None,
        types: str | None = None,
        live: bool = False,
    ) -> Response[Any]:
        """SSE: the job's events (``status``, ``step``, ``artifact``, ``approval``, ``report``);
        ids are the job's event ``seq``. ``types=status,step`` keeps only those; ``live=1`` adds
        the live browser view as ``screenshot`` events (JPEG frames, without ids)."""
        wanted = sse.parse_types(types)
        state = request.app.state
        uid = parse_job_id(job_id)
        current = await views.job_status(state.pool, uid)
        if current is None:
            raise not_found(f"job {job_id}")
        since = last_event_id(request, after)
        status, last_seq = current
        if views.is_terminal(status) and since >= last_seq:
            return Response(b"", status_code=204)
        return ServerSentEvent(
            sse.job_events(
                state.pool,
                state.hub,
                uid,
                since,
                state.settings.sse_keepalive_s,
                types=wanted,
                live=live,
            ),
            headers=SSE_HEADERS,
        )
