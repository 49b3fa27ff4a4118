"""Turning an HTTP job request into a validated :class:`SubmitJob` for the queue service."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct
from runwright_proto.commands import StepSpec, SubmitJob
from runwright_runbook.model import Runbook, action_type
from runwright_runbook.parse import (
    FieldError,
    RunbookInvalid,
    field_error_from_msgspec,
    parse_runbook,
)
from runwright_runbook.variables import interpolate, submission_errors

from runwright_gateway.problems import Problem, invalid

Scalar = str | int | float | bool


class JobRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    runbook: str | dict[str, Any]
    variables: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    priority: int | None = None
    title: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    labels: dict[str, str] = {}


_request_decoder = msgspec.json.Decoder(JobRequest)


def decode_request(body: bytes) -> JobRequest:
    if not body.strip():
        raise invalid(
            [
                FieldError(
                    "runbook", "the request body is empty; send JSON with `runbook` and `variables`"
                )
            ]
        )
    try:
        return _request_decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise invalid([field_error_from_msgspec(exc)]) from exc
    except msgspec.DecodeError as exc:
        raise Problem(
            400,
            "Malformed JSON",
            f"the request body is not valid JSON: {exc}",
            code="malformed_json",
        ) from exc


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


def build_submission(request: JobRequest, *, submitted_by: str) -> SubmitJob:
    if errors := map_errors(request):
        raise invalid(errors)
    try:
        runbook = parse_runbook(request.runbook)
    except RunbookInvalid as exc:
        raise invalid([_prefixed(e) for e in exc.errors]) from exc
    errors = submission_errors(runbook, request.variables, request.secrets)
    if errors:
        raise invalid(errors)
    shown = public_values(runbook, request.variables)
    options = runbook.option()
    steps = [
        StepSpec(
            ordinal=s.ordinal,
            description=interpolate(s.description, shown),
            action_type=action_type(s.action),
        )
        for s in runbook.steps
    ]
    labels = {**options.labels, **request.labels}
    return SubmitJob(
        job_id=str(uuid.uuid4()),
        title=request.title or interpolate(runbook.title, shown),
        runbook=runbook,
        steps=steps,
        variables=dict(request.variables),
        secrets=dict(request.secrets),
        priority=request.priority if request.priority is not None else options.priority,
        submitted_by=submitted_by,
        labels=labels,
    )


def _prefixed(error: FieldError) -> FieldError:
    if error.field == "runbook" or error.field.startswith("runbook."):
        return error
    return FieldError(f"runbook.{error.field}", error.message)
