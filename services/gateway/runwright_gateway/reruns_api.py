"""Running again: ``POST /api/v1/jobs/{id}/rerun`` (the same runbook version, variables and
options; secrets supplied again, as a job's are deleted when it ends), ``POST
/api/v1/batches/{id}/rerun`` (the failed rows, or every row, as a new batch), and
``GET /api/v1/jobs/{id}/compare`` (a run beside the previous run of the same runbook, step by
step)."""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from runwright_proto.api.jobs import (
    RESERVED_LABEL_PREFIX,
    RUNBOOK_LABEL,
    VERSION_LABEL,
    BatchView,
    JobRequest,
    JobView,
    StepView,
)
from runwright_proto.api.reruns import (
    RERUN_LABEL,
    BatchRerunRequest,
    Comparison,
    RerunRequest,
    RunSide,
    StepComparison,
    StepSide,
)
from runwright_proto.commands import SubmitJob
from runwright_proto.jobs import TERMINAL

from runwright_gateway import views
from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.jobs_api import send_batch, send_job
from runwright_gateway.problems import Problem, not_found
from runwright_gateway.responses import problems
from runwright_gateway.submissions import build_batch, build_submission

COLUMNS = "id, status, title, runbook, variables, priority, labels, options, data, created_at"
KEPT_LABELS = (RUNBOOK_LABEL, VERSION_LABEL)
ROW_SUFFIX = re.compile(r" · row \d+$")


def again(row: asyncpg.Record, secrets: dict[str, Any], data: Any = None) -> JobRequest:
    """The request that runs ``row``'s job again (its own labels; the gateway's are re-added)."""
    options = row["options"] or {}
    return JobRequest(
        runbook=row["runbook"],
        variables=row["variables"],
        secrets=secrets,
        priority=row["priority"],
        title=row["title"],
        labels={k: v for k, v in row["labels"].items() if not k.startswith(RESERVED_LABEL_PREFIX)},
        data=data,
        screenshots=options.get("screenshots"),
        video=options.get("video"),
        approval_timeout_s=options.get("approval_timeout_s"),
        on_executor_loss=options.get("on_executor_loss"),
        on_failure=options.get("on_failure"),
    )


def relabelled(job: SubmitJob, row: asyncpg.Record, of: str) -> SubmitJob:
    kept = {k: v for k, v in row["labels"].items() if k in KEPT_LABELS}
    return msgspec.structs.replace(job, labels={**job.labels, **kept, RERUN_LABEL: of})


def ended(row: asyncpg.Record | None, what: str) -> asyncpg.Record:
    if row is None:
        raise not_found(what)
    if row["status"] not in TERMINAL:
        raise Problem(
            409,
            "Conflict",
            f"{what} is {row['status']}: a job is run again once it has ended",
            code="conflict",
            job_status=row["status"],
        )
    return row


def side(job: JobView) -> RunSide:
    return RunSide(
        id=job.id,
        status=job.status,
        created_at=job.created_at.isoformat(),
        duration_ms=job.duration_ms,
        runbook_version=job.runbook_version,
        steps_succeeded=job.metrics.steps_succeeded,
        steps_failed=job.metrics.steps_failed,
    )


def step_side(step: StepView | None) -> StepSide | None:
    if step is None:
        return None
    error = (step.error or {}).get("message") if step.error else None
    return StepSide(
        status=step.status, duration_ms=step.duration_ms, retries=step.retries, error=error
    )


def compare(base: JobView, head: JobView) -> Comparison:
    old = {s.ordinal: s for s in base.steps}
    new = {s.ordinal: s for s in head.steps}
    steps = []
    for ordinal in sorted(old.keys() | new.keys()):
        a, b = old.get(ordinal), new.get(ordinal)
        either = b or a
        assert either is not None  # the ordinal came from one of them
        delta = (
            b.duration_ms - a.duration_ms
            if a and b and a.duration_ms is not None and b.duration_ms is not None
            else None
        )
        steps.append(
            StepComparison(
                ordinal=ordinal,
                description=either.description,
                base=step_side(a),
                head=step_side(b),
                delta_ms=delta,
                changed=a is None or b is None or a.status != b.status,
            )
        )
    total = (
        head.duration_ms - base.duration_ms
        if head.duration_ms is not None and base.duration_ms is not None
        else None
    )
    return Comparison(
        base=side(base),
        head=side(head),
        delta_ms=total,
        steps=steps,
        same_runbook_version=(base.runbook_slug, base.runbook_version)
        == (head.runbook_slug, head.runbook_version),
    )


PREVIOUS = """
SELECT id FROM queue.jobs
 WHERE workspace = $1 AND id <> $2 AND created_at < $3
   AND CASE WHEN $4::text IS NOT NULL THEN labels->>'runwright.runbook' = $4 ELSE title = $5 END
 ORDER BY created_at DESC LIMIT 1
"""


class RerunsController(Controller):
    path = "/api/v1"
    guards = [authorize]
    security = SECURITY

    @post("/jobs/{job_id:str}/rerun", status_code=201, responses=problems(404, 409, 429))
    async def rerun_job(
        self, request: Request[Any, Any, Any], job_id: UUID, data: RerunRequest | None = None
    ) -> Response[JobView]:
        """Run a finished job again: the same runbook (and stored version), variables, data row,
        priority, labels and options, as a new job labelled ``runwright.rerun_of``. Its secrets
        were deleted when it ended: give them again in ``secrets``."""
        state, who = request.app.state, principal(request)
        row = ended(
            await state.pool.fetchrow(
                f"SELECT {COLUMNS} FROM queue.jobs WHERE id = $1 AND workspace = $2",
                job_id,
                who.workspace,
            ),
            f"job {job_id}",
        )
        body = data or RerunRequest()
        command = build_submission(
            again(row, body.secrets),
            submitted_by=who.actor,
            workspace=who.workspace,
            env_prefix=state.settings.env_prefix,
        )
        command = msgspec.structs.replace(relabelled(command, row, str(job_id)), data=row["data"])
        job = await send_job(request, command)
        return Response(job, status_code=201, headers={"Location": f"/api/v1/jobs/{job.id}"})

    @post("/batches/{batch_id:str}/rerun", status_code=201, responses=problems(404, 409, 429))
    async def rerun_batch(
        self,
        request: Request[Any, Any, Any],
        batch_id: UUID,
        data: BatchRerunRequest | None = None,
    ) -> Response[BatchView]:
        """The batch's failed (or cancelled) rows, or with ``only: all`` every row, as a new
        batch; once every row of the batch has ended."""
        state, who = request.app.state, principal(request)
        body = data or BatchRerunRequest()
        rows = await state.pool.fetch(
            f"SELECT {COLUMNS} FROM queue.jobs WHERE batch_id = $1 AND workspace = $2"
            " ORDER BY created_at, id",
            batch_id,
            who.workspace,
        )
        if not rows:
            raise not_found(f"batch {batch_id}")
        for row in rows:
            ended(row, f"a row of batch {batch_id}")
        picked = [r for r in rows if body.only == "all" or r["status"] in ("failed", "cancelled")]
        if not picked:
            raise Problem(409, "Conflict", "no row of this batch failed", code="nothing_failed")
        first = again(rows[0], body.secrets, data=[r["data"] or {} for r in picked])
        # Each row's title is the batch's plus " · row N": the new batch numbers its own rows.
        title = ROW_SUFFIX.sub("", rows[0]["title"])
        batch = build_batch(
            msgspec.structs.replace(first, title=title),
            submitted_by=who.actor,
            workspace=who.workspace,
            env_prefix=state.settings.env_prefix,
        )
        jobs = [relabelled(j, r, str(r["id"])) for j, r in zip(batch.jobs, picked, strict=True)]
        view = await send_batch(request, msgspec.structs.replace(batch, jobs=jobs))
        return Response(view, status_code=201, headers={"Location": f"/api/v1/batches/{view.id}"})

    @get("/jobs/{job_id:str}/compare", responses=problems(404))
    async def compare_runs(
        self,
        request: Request[Any, Any, Any],
        job_id: UUID,
        with_job: Annotated[UUID | None, Parameter(query="with")] = None,
    ) -> Comparison:
        """This run beside an earlier one (``with``; by default the previous run of the same
        stored runbook, or of the same title for a runbook sent inline): status, duration and
        each step's status and time side by side."""
        pool, workspace = request.app.state.pool, principal(request).workspace
        head = await views.get_job(pool, job_id, workspace)
        if head is None:
            raise not_found(f"job {job_id}")
        if with_job is None:
            with_job = await pool.fetchval(
                PREVIOUS, workspace, job_id, head.created_at, head.runbook_slug, head.title
            )
            if with_job is None:
                raise not_found(f"an earlier run of {head.runbook_slug or head.title!r}")
        base = await views.get_job(pool, with_job, workspace)
        if base is None:
            raise not_found(f"job {with_job}")
        return compare(base, head)
