"""``POST /api/v1/runbooks/validate``: what a runbook check answers."""

from __future__ import annotations

from typing import Any

from msgspec import Struct
from runwright_runbook.model import Scalar

from runwright_proto.api.problems import FieldError


class ValidateRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    runbook: str | dict[str, Any]
    """YAML text or a JSON object."""


class VariableView(Struct, kw_only=True):
    name: str
    source: str
    required: bool
    secret: bool
    description: str | None
    value: Scalar | None
    """The value of a ``fixed`` variable; always null for a sensitive one."""


class Validation(Struct, kw_only=True):
    valid: bool
    errors: list[FieldError]
    title: str | None
    steps: int
    variables: list[VariableView]
