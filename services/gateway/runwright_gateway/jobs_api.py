"""``/api/v1/jobs``: submit, list, read and follow jobs."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import HeaderParameter, Parameter
from litestar.response import ServerSentEvent
from runwright_bus import request as nats_request
from runwright_proto import subjects
from runwright_proto.api.jobs import (
    ActionRequest,
    BatchView,
    JobCounts,
    JobPage,
    JobRequest,
    JobView,
)
from runwright_proto.approvals import DECISIONS
from runwright_proto.commands import SubmitBatch, SubmitBatchReply, SubmitJob, SubmitReply
from runwright_proto.control import Action, ActionReply, JobAction
from runwright_proto.jobs import JobStatus, Trigger
from runwright_runbook.parse import FieldError, RunbookInvalid, parse_runbook
from runwright_runbook.report import ExecutionReport

from runwright_gateway import approvals_api, batches, library, sse, submit_rate, views
from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.problems import Problem, invalid, not_found
from runwright_gateway.responses import answers, empty, event_stream, problems, typed
from runwright_gateway.submissions import build_batch, build_submission

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def queue_full(reason: str, retry_after_s: int | None) -> Problem:
    return Problem(
        429,
        "Too many waiting jobs",
        f"{reason}; try again later",
        code="queue_full",
        headers={"Retry-After": str(retry_after_s or 5)},
    )


def if_match_version(header: str | None) -> int | None:
    """``If-Match: "<version>"``: act only on the job as the person saw it."""
    if not header:
        return None
    try:
        return int(header.strip().removeprefix("W/").strip('"'))
    except ValueError as exc:
        raise invalid([FieldError("If-Match", 'expected the job version, e.g. "7"')]) from exc


MAX_EVENT_ID = 2**63 - 1
"""Event ids are PostgreSQL bigints (and JetStream positions): larger is no id we sent."""
After = Annotated[
    int | None, Parameter(ge=0, le=MAX_EVENT_ID, description="Resume after this event id")
]


def last_event_id(request: Request[Any, Any, Any], after: int | None) -> int:
    header = request.headers.get("last-event-id")
    if header is None or header == "":
        return after or 0
    try:
        value = int(header)
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_EVENT_ID:
        raise invalid([FieldError("Last-Event-ID", "must be an event id this stream sent")])
    return value


Search = Annotated[str | None, Parameter(max_length=200)]
IfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", description='The job version you saw, e.g. "7"')
]
LastEventId = Annotated[
    str | None, HeaderParameter(name="Last-Event-ID", description="Resume after this event id")
]
MARKDOWN = "text/markdown; charset=utf-8"


def search_text(q: str | None) -> str | None:
    return q.strip() if q and q.strip() else None


async def send_job(request: Request[Any, Any, Any], command: SubmitJob) -> JobView:
    """Submit one job to the queue (within the caller's rate) and answer it as recorded."""
    state, who = request.app.state, principal(request)
    await submit_rate.admit(state.pool, state.settings, who, 1)
    reply: SubmitReply = await nats_request(
        state.nc, subjects.SUBMIT, command, SubmitReply, timeout=state.settings.request_timeout_s
    )
    if reply.status == "rejected":
        raise queue_full(reply.reason or "the queue is full", reply.retry_after_s)
    job = views.new_job(command, reply) or await views.get_job(
        state.pool, UUID(reply.job_id), who.workspace
    )
    assert job is not None
    return job


async def send_batch(request: Request[Any, Any, Any], batch: SubmitBatch) -> BatchView:
    """Submit a batch's jobs together (within the caller's rate) and answer the batch."""
    state, who = request.app.state, principal(request)
    await submit_rate.admit(state.pool, state.settings, who, len(batch.jobs))
    timeout = state.settings.request_timeout_s * 4
    done: SubmitBatchReply = await nats_request(
        state.nc, subjects.SUBMIT_BATCH, batch, SubmitBatchReply, timeout=timeout
    )
    if done.rejected:
        raise queue_full(done.rejected, done.retry_after_s)
    view = await batches.get_batch(state.pool, UUID(done.batch_id), who.workspace)
    assert view is not None
    return view


def edited_step(action: str, step: dict[str, Any] | None) -> dict[str, Any] | None:
    """A retry's edited step, checked like any step of a runbook (422 naming ``step.<path>``);
    only ``retry`` takes one."""
    if step is None:
        return None
    if action != "retry":
        raise invalid([FieldError("step", "only retry takes an edited step")])
    try:
        parse_runbook({"title": "edited step", "steps": [{**step, "ordinal": 0}]})
    except RunbookInvalid as exc:
        raise invalid(
            [FieldError(e.field.replace("steps[0]", "step", 1), e.message) for e in exc.errors]
        ) from exc
    return step


class JobsController(Controller):
    path = "/api/v1/jobs"
    guards = [authorize]
    security = SECURITY

    @post("/", status_code=201, responses=problems(400, 429))
    async def submit(
        self, request: Request[Any, Any, Any], data: JobRequest
    ) -> Response[JobView | BatchView]:
        """Submit a job, or a batch run when the request has ``data`` rows (then the answer is
        the batch)."""
        state, who = request.app.state, principal(request)
        data = await library.resolved(state.pool, who.workspace, data)
        by: dict[str, Any] = {
            "submitted_by": who.actor,
            "workspace": who.workspace,
            "env_prefix": state.settings.env_prefix,
        }
        if data.data is not None:
            view = await send_batch(request, build_batch(data, **by))
            location = f"/api/v1/batches/{view.id}"
            return Response(view, status_code=201, headers={"Location": location})
        job = await send_job(request, build_submission(data, **by))
        return Response(job, status_code=201, headers={"Location": f"/api/v1/jobs/{job.id}"})

    @get("/", responses=problems())
    async def list_jobs(
        self,
        request: Request[Any, Any, Any],
        status: JobStatus | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: str | None = None,
        batch_id: UUID | None = None,
        trigger: Trigger | None = None,
        q: Search = None,
    ) -> JobPage:
        """Newest first, a page at a time (keyset ``cursor``); filter by ``status``, ``trigger``
        (api, schedule, batch), ``batch_id``, and search with ``q``: a job id, ``key=value`` for a
        label, or part of the title."""
        return await views.list_jobs(
            request.app.state.pool,
            workspace=principal(request).workspace,
            status=status,
            limit=limit,
            cursor=cursor,
            batch_id=batch_id,
            trigger=trigger,
            search=search_text(q),
        )

    @get("/counts", responses=problems())
    async def counts(
        self,
        request: Request[Any, Any, Any],
        batch_id: UUID | None = None,
        trigger: Trigger | None = None,
        q: Search = None,
    ) -> JobCounts:
        """How many jobs each status has, and in all. Without filters exact and cheap at any
        table size; with the list's filters counted over at most 10,000 matching jobs
        (``capped`` says the figures are lower bounds)."""
        return await views.job_counts(
            request.app.state.pool,
            principal(request).workspace,
            batch_id=batch_id,
            trigger=trigger,
            search=search_text(q),
        )

    @get("/{job_id:str}", responses=problems(404))
    async def get_job(self, request: Request[Any, Any, Any], job_id: UUID) -> JobView:
        """A job with its steps, metrics, report and the actions its status allows."""
        job = await views.get_job(request.app.state.pool, job_id, principal(request).workspace)
        if job is None:
            raise not_found(f"job {job_id}")
        return job

    @post("/{job_id:str}/{action:str}", status_code=200, responses=approvals_api.DECISION_ANSWERS)
    async def act(
        self,
        request: Request[Any, Any, Any],
        job_id: UUID,
        action: Action,
        if_match: IfMatch = None,
        data: ActionRequest | None = None,
    ) -> Response[JobView]:
        """approve, reject, skip, pause, resume or cancel; 409 when the status forbids it (the
        job's ``allowed_actions`` says what it allows) or the version moved on (``If-Match``).
        approve, reject and skip are decided by the approval service under the runbook's
        approver policy (``x-runwright.approval``): 403 names why it refuses (``why``: role,
        user, four_eyes); 202 with ``approvals: {required, given}`` when an approval is counted
        and more are needed."""
        state, who = request.app.state, principal(request)
        # A job's workspace never changes: checked here, the queue then decides the action.
        if await views.job_status(state.pool, job_id, who.workspace) is None:
            raise not_found(f"job {job_id}")
        step = edited_step(action, data.step if data else None)
        if action == "approve" and await views.pending_kind(state.pool, job_id) == "failure":
            raise Problem(
                409,
                "Conflict",
                "the job holds a failed step: retry it (retry), skip it (skip) or fail the job"
                " (reject)",
                code="conflict",
                job_status="waiting_for_approval",
            )
        if action in DECISIONS:
            return await approvals_api.decide(
                request, job_id, action, if_match_version(if_match), data.reason if data else None
            )
        reply: ActionReply = await nats_request(
            state.nc,
            subjects.ACTION,
            JobAction(
                job_id=str(job_id),
                action=action,
                actor=who.actor,
                reason=data.reason if data else None,
                request_id=request.headers.get("x-request-id"),
                version=if_match_version(if_match),
                step=step,
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
        job = await views.get_job(state.pool, job_id, principal(request).workspace)
        assert job is not None
        return Response(job, headers={"ETag": f'"{job.version}"'})

    @get(
        "/{job_id:str}/report",
        responses=answers(
            {200: typed(ExecutionReport, "The execution report (Markdown when asked for)")},
            problems(404),
        ),
    )
    async def report(self, request: Request[Any, Any, Any], job_id: UUID) -> Response[Any]:
        """The execution report as JSON, or as Markdown with ``Accept: text/markdown`` (also at
        ``report.md``)."""
        row = await views.job_report(request.app.state.pool, job_id, principal(request).workspace)
        if row is None:
            raise not_found(f"a report for job {job_id} (it has not finished)")
        if "text/markdown" in request.headers.get("accept", ""):
            return Response(row["markdown"], media_type=MARKDOWN)
        return Response(row["report"])

    @get(
        "/{job_id:str}/report.md",
        media_type=MARKDOWN,
        responses=answers({200: typed(str, "The report as Markdown", MARKDOWN)}, problems(404)),
    )
    async def report_markdown(self, request: Request[Any, Any, Any], job_id: UUID) -> Response[str]:
        """The execution report as a Markdown file (an attachment)."""
        row = await views.job_report(request.app.state.pool, job_id, principal(request).workspace)
        if row is None:
            raise not_found(f"a report for job {job_id} (it has not finished)")
        return Response(
            row["markdown"],
            media_type=MARKDOWN,
            headers={"Content-Disposition": f'attachment; filename="runwright-{job_id}.md"'},
        )

    @get(
        "/{job_id:str}/events",
        responses=answers(
            event_stream(
                "The job's ``status``, ``step``, ``approval``, ``artifact`` and ``report`` events "
                "in the order things happened (``types`` keeps some); ids are the job's event "
                "``seq``. With ``live=1``, also ``screenshot`` frames (no id)."
            ),
            empty(204, "The job has finished and every event was sent: do not reconnect"),
            problems(404),
        ),
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        job_id: UUID,
        after: After = None,
        types: str | None = None,
        live: bool = False,
        last_event: LastEventId = None,
    ) -> Response[Any]:
        """SSE: the job's events (``status``, ``step``, ``artifact``, ``approval``, ``report``);
        ids are the job's event ``seq``. ``types=status,step`` keeps only those; ``live=1`` adds
        the live browser view as ``screenshot`` events (JPEG frames, without ids)."""
        del last_event  # read by last_event_id (declared here for the OpenAPI document)
        wanted = sse.parse_types(types)
        since = last_event_id(request, after)
        state = request.app.state
        current = await views.job_status(state.pool, job_id, principal(request).workspace)
        if current is None:
            raise not_found(f"job {job_id}")
        status, last_seq = current
        if views.is_terminal(status) and since >= last_seq:
            return Response(b"", status_code=204)
        return ServerSentEvent(
            sse.job_events(
                state.pool,
                state.hub,
                job_id,
                since,
                state.settings.sse_keepalive_s,
                types=wanted,
                live=live,
            ),
            headers=SSE_HEADERS,
        )
