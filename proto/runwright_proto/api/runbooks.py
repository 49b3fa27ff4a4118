"""``POST /api/v1/runbooks/validate``: what a runbook check answers."""

from __future__ import annotations

from typing import Any

from msgspec import Struct
from runwright_runbook.model import Scalar


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


class LocatedError(Struct, kw_only=True):
    field: str
    message: str
    line: int | None = None
    """The 1-based line of the runbook's YAML text the error points at (None for a JSON
    object, or a path the text does not have)."""


class Validation(Struct, kw_only=True):
    valid: bool
    errors: list[LocatedError]
    title: str | None
    steps: int
    variables: list[VariableView]
