"""Turning an HTTP job request into a validated :class:`SubmitJob` for the queue service."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import msgspec
from runwright_proto import limits
from runwright_proto.api.jobs import JobRequest
from runwright_proto.commands import JobOptions, StepSpec, SubmitBatch, SubmitJob
from runwright_runbook.model import Runbook, action_type
from runwright_runbook.parse import (
    FieldError,
    RunbookInvalid,
    parse_runbook,
)
from runwright_runbook.variables import ENV_PREFIX, interpolate, submission_errors

from runwright_gateway.problems import invalid, too_large

Scalar = str | int | float | bool


def public_values(runbook: Runbook, variables: dict[str, Scalar]) -> dict[str, Scalar]:
    """Variables that may be shown: supplied or fixed values of non-sensitive variables."""
    values: dict[str, Scalar] = {}
    for name, spec in runbook.variables.items():
        if spec.sensitive:
            continue
        if spec.source == "fixed" and spec.value is not None:
            values[name] = spec.value
        if name in variables:
            values[name] = variables[name]
    for name, value in variables.items():
        if name not in runbook.variables:
            values[name] = value
    return values


def map_errors(request: JobRequest) -> list[FieldError]:
    """Values of ``variables`` must be scalars and of ``secrets`` strings, named by key."""
    errors = [
        FieldError(
            f"variables.{name}", f"Expected a string, number or boolean, got {type(value).__name__}"
        )
        for name, value in request.variables.items()
        if not isinstance(value, str | int | float | bool)
    ]
    errors += [
        FieldError(f"secrets.{name}", f"Expected a string, got {type(value).__name__}")
        for name, value in request.secrets.items()
        if not isinstance(value, str)
    ]
    return errors


def size_errors(request: JobRequest) -> list[FieldError]:
    """Values over :data:`limits.MAX_VARIABLE_BYTES` each or :data:`limits.MAX_VALUES_BYTES`
    together (variables and secrets), named by key."""
    errors: list[FieldError] = []
    total = 0
    for kind, values in (("variables", request.variables), ("secrets", request.secrets)):
        for name, value in values.items():
            size = len(str(value).encode("utf-8", "replace"))
            total += size
            if size > limits.MAX_VARIABLE_BYTES:
                most = limits.kib(limits.MAX_VARIABLE_BYTES)
                errors.append(FieldError(f"{kind}.{name}", f"is {size} bytes; {most} at most"))
    if not errors and total > limits.MAX_VALUES_BYTES:
        most = limits.kib(limits.MAX_VALUES_BYTES)
        message = f"variables and secrets are {total} bytes together; {most} at most"
        errors.append(FieldError("variables", message))
    return errors


def fits_on_bus(message: msgspec.Struct, field: str, what: str) -> None:
    """Refuse (413) a command the bus could not carry, before it is sent."""
    size = len(msgspec.json.encode(message))
    if size > limits.MAX_BUS_MESSAGE_BYTES:
        most = limits.kib(limits.MAX_BUS_MESSAGE_BYTES)
        raise too_large([FieldError(field, f"{what} would be {size} bytes; {most} at most")])


def _runbook(request: JobRequest) -> Runbook:
    if errors := map_errors(request):
        raise invalid(errors)
    if errors := size_errors(request):
        raise too_large(errors)
    if request.runbook is None:  # library.resolved put the stored one in
        raise invalid(
            [
                FieldError(
                    "runbook",
                    "missing required field: send a runbook, or name a stored one in runbook_ref",
                )
            ]
        )
    try:
        return parse_runbook(request.runbook)
    except RunbookInvalid as exc:
        raise invalid([prefixed(e) for e in exc.errors]) from exc


def _job(
    request: JobRequest,
    runbook: Runbook,
    *,
    submitted_by: str,
    workspace: str,
    row: dict[str, Any] | None = None,
    title: str | None = None,
    batch_id: str | None = None,
) -> SubmitJob:
    mapping = runbook.data_source.mapping if runbook.data_source and row is not None else {}
    supplied = {**request.variables, **{v: row[c] for v, c in mapping.items() if row and c in row}}
    shown = public_values(runbook, supplied)
    options = runbook.option()
    steps = [
        StepSpec(
            ordinal=s.ordinal,
            description=s.description,
            action_type=action_type(s.action),
        )
        for s in runbook.steps
    ]
    return SubmitJob(
        job_id=str(uuid.uuid4()),
        workspace=workspace,
        title=title or request.title or interpolate(runbook.title, shown),
        runbook=runbook,
        steps=steps,
        variables=dict(request.variables),
        secrets=dict(request.secrets),
        priority=request.priority if request.priority is not None else options.priority,
        submitted_by=submitted_by,
        labels={**options.labels, **request.labels},
        trigger="batch" if batch_id else "api",
        batch_id=batch_id,
        data=row,
        options=JobOptions(
            screenshots=options.screenshots if request.screenshots is None else request.screenshots,
            video=options.video if request.video is None else request.video,
            approval_timeout_s=request.approval_timeout_s or options.approval_timeout_s,
            on_executor_loss=request.on_executor_loss or options.on_executor_loss,
            on_failure=request.on_failure or options.on_failure,
        ),
        run_at=request.run_at,
    )


def build_submission(
    request: JobRequest, *, submitted_by: str, workspace: str, env_prefix: str = ENV_PREFIX
) -> SubmitJob:
    runbook = _runbook(request)
    errors = submission_errors(runbook, request.variables, request.secrets, env_prefix=env_prefix)
    if errors:
        raise invalid(errors)
    job = _job(request, runbook, submitted_by=submitted_by, workspace=workspace)
    fits_on_bus(job, "body", "the job with its runbook and values")
    return job


def build_batch(
    request: JobRequest, *, submitted_by: str, workspace: str, env_prefix: str = ENV_PREFIX
) -> SubmitBatch:
    """One child job per data row; the runbook's ``dataSource.mapping`` names the columns."""
    runbook = _runbook(request)
    if runbook.data_source is None or not runbook.data_source.mapping:
        raise invalid(
            [
                FieldError(
                    "runbook.dataSource.mapping",
                    "a request with `data` needs the runbook's dataSource.mapping "
                    "(variable name → column name)",
                )
            ]
        )
    mapping = runbook.data_source.mapping
    rows = batch_rows(request.data)
    errors = [
        FieldError(
            f"data[{i}].{column}",
            f"column `{column}` (for variable `{name}`) is missing from this row",
        )
        for i, row in enumerate(rows)
        for name, column in mapping.items()
        if column not in row
    ]
    from_data = dict.fromkeys(mapping, "")
    errors += submission_errors(
        runbook, {**from_data, **request.variables}, request.secrets, env_prefix=env_prefix
    )
    if errors:
        raise invalid(errors[:50])
    batch_id = str(uuid.uuid4())
    title = request.title or runbook.title
    batch = SubmitBatch(
        batch_id=batch_id,
        jobs=[
            _job(
                request,
                runbook,
                submitted_by=submitted_by,
                workspace=workspace,
                row=row,
                batch_id=batch_id,
                title=f"{title} · row {index + 1}",
            )
            for index, row in enumerate(rows)
        ],
    )
    fits_on_bus(batch, "data", f"the batch of {len(rows)} jobs (each with its runbook)")
    return batch


def batch_rows(data: list[Any] | str | None) -> list[dict[str, Any]]:
    """Rows from a list of objects or from CSV text with a header line."""
    if isinstance(data, str):
        reader = csv.DictReader(io.StringIO(data.strip()))
        if not reader.fieldnames:
            raise invalid([FieldError("data", "CSV text needs a header line")])
        rows: list[Any] = list(reader)
    else:
        rows = list(data or [])
    if not rows:
        raise invalid([FieldError("data", "a batch needs at least one row")])
    if len(rows) > limits.MAX_BATCH_ROWS:
        raise invalid(
            [FieldError("data", f"at most {limits.MAX_BATCH_ROWS} rows per batch; got {len(rows)}")]
        )
    bad = [
        FieldError(f"data[{i}]", f"expected an object, got {type(row).__name__}")
        for i, row in enumerate(rows)
        if not isinstance(row, dict)
    ]
    if bad:
        raise invalid(bad[:50])
    return rows


def prefixed(error: FieldError) -> FieldError:
    if error.field == "runbook" or error.field.startswith("runbook."):
        return error
    return FieldError(f"runbook.{error.field}", error.message)
