"""``/api/v1/runbooks/validate``: check a runbook before submitting it (the console's New job form).

It answers what a job request would be told about the runbook itself, with the same parser and the
same submission rules, but as a 200 with ``valid`` and the errors by field, plus what a form needs
to ask for: the title, the number of steps and the declared variables. Values of sensitive
variables never appear in the answer.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from runwright_proto.api.runbooks import (
    LocatedError,
    ValidateRequest,
    Validation,
    VariableView,
)
from runwright_runbook.locate import line_of
from runwright_runbook.model import Runbook, VariableDef
from runwright_runbook.parse import (
    FieldError,
    RunbookInvalid,
    load_yaml,
    parse_runbook,
)
from runwright_runbook.variables import submission_errors

from runwright_gateway.auth import authorize
from runwright_gateway.docs import SECURITY
from runwright_gateway.responses import problems


def variable_view(name: str, spec: VariableDef) -> VariableView:
    return VariableView(
        name=name,
        source=spec.source,
        required=spec.required,
        secret=spec.sensitive,
        description=spec.description,
        value=None if spec.sensitive else spec.value,
    )


def runbook_errors(runbook: Runbook, env_prefix: str) -> list[FieldError]:
    """The submission rules about the runbook itself, as paths inside it.

    Every declared variable counts as supplied (the form asks for their values; the job request
    is checked for them), as a batch request counts its data columns.
    """
    supplied = dict.fromkeys(runbook.variables, "")
    errors = submission_errors(runbook, supplied, {}, env_prefix=env_prefix)
    return [FieldError(e.field.removeprefix("runbook."), e.message) for e in errors]


def rejected(errors: list[LocatedError], document: Any) -> Validation:
    """An invalid runbook: its errors, and the title and step count when they can be read."""
    known = document if isinstance(document, dict) else {}
    title, steps = known.get("title"), known.get("steps")
    return Validation(
        valid=False,
        errors=errors,
        title=title if isinstance(title, str) else None,
        steps=len(steps) if isinstance(steps, list) else 0,
        variables=[],
    )


def located(errors: list[FieldError], source: str | dict[str, Any]) -> list[LocatedError]:
    """Each error with the line of the YAML text it points at (an editor marks it there)."""
    text = source if isinstance(source, str) else None
    return [
        LocatedError(
            field=e.field, message=e.message, line=line_of(text, e.field) if text else None
        )
        for e in errors
    ]


def validate(source: str | dict[str, Any], env_prefix: str) -> Validation:
    try:
        document = load_yaml(source) if isinstance(source, str) else source
    except RunbookInvalid as exc:
        return rejected(located(exc.errors, source), None)
    try:
        runbook = parse_runbook(document)
    except RunbookInvalid as exc:
        return rejected(located(exc.errors, source), document)
    errors = runbook_errors(runbook, env_prefix)
    return Validation(
        valid=not errors,
        errors=located(errors, source),
        title=runbook.title,
        steps=len(runbook.steps),
        variables=[variable_view(name, spec) for name, spec in runbook.variables.items()],
    )


class RunbooksController(Controller):
    path = "/api/v1/runbooks"
    guards = [authorize]
    security = SECURITY

    @post("/validate", status_code=200, responses=problems(400))
    async def validate(self, request: Request[Any, Any, Any], data: ValidateRequest) -> Validation:
        """Validate a runbook (YAML text or a JSON object): 200 with ``valid`` and the errors."""
        return validate(data.runbook, request.app.state.settings.env_prefix)
