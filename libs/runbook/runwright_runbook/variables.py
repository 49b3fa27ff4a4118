"""Variables: which ones a job must supply, and ``{{name}}`` interpolation."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from runwright_runbook.errors import FieldError
from runwright_runbook.model import Runbook

ENV_PREFIX = "RUNWRIGHT_VAR_"
"""Only environment variables with this prefix may feed ``env`` variables."""

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z0-9_$]+)*)\s*\}\}")
"""A ``{{name}}`` placeholder; dotted names (``{{row.price}}``, ``{{rows.0}}``) reach inside."""


class UnknownName(LookupError):
    """A placeholder names no variable or captured value (or no part of one)."""


def submission_errors(
    runbook: Runbook,
    variables: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    ai_provider: bool = False,
    env_prefix: str = ENV_PREFIX,
) -> list[FieldError]:
    """What a job request lacks before it can run: missing prompt values, AI-only features."""
    errors: list[FieldError] = []
    for name, spec in runbook.variables.items():
        if (
            spec.source == "prompt"
            and spec.required
            and name not in variables
            and name not in secrets
        ):
            errors.append(
                FieldError(
                    f"variables.{name}", f"required prompt variable `{name}` was not supplied"
                )
            )
        if spec.source == "context" and not ai_provider:
            errors.append(
                FieldError(
                    f"runbook.variables.{name}.source",
                    "`context` variables need an AI provider, and none is configured",
                )
            )
        if spec.source == "fixed" and spec.value is None:
            errors.append(
                FieldError(f"runbook.variables.{name}.value", "a `fixed` variable needs `value`")
            )
        if spec.source == "env" and not spec.env_key:
            errors.append(
                FieldError(f"runbook.variables.{name}.envKey", "an `env` variable needs `envKey`")
            )
        elif spec.source == "env" and spec.env_key and not spec.env_key.startswith(env_prefix):
            errors.append(
                FieldError(
                    f"runbook.variables.{name}.envKey",
                    f"only environment variables starting with {env_prefix} may be read",
                )
            )
    if not ai_provider:
        for s_index, step in enumerate(runbook.steps):
            for c_index, capture in enumerate(step.captures):
                if capture.strategy == "ai":
                    errors.append(
                        FieldError(
                            f"runbook.steps[{s_index}].captures[{c_index}].strategy",
                            "the `ai` capture strategy needs an AI provider; none is configured",
                        )
                    )
    return errors


def lookup(name: str, values: Mapping[str, Any]) -> Any:
    """The value ``name`` stands for: a variable or capture, dotted names reaching into objects
    and lists (``row.price``, ``rows.0``). Raises :class:`UnknownName`."""
    if name in values:
        return values[name]
    head, _, rest = name.partition(".")
    if head not in values:
        raise UnknownName(name)
    value: Any = values[head]
    for part in rest.split(".") if rest else []:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise UnknownName(name)
    return value


def interpolate(text: str, values: Mapping[str, Any]) -> str:
    """Replace each ``{{name}}`` with its value; unknown names are left as written."""

    def substitute(match: re.Match[str]) -> str:
        try:
            return format_value(lookup(match.group(1), values))
        except UnknownName:
            return match.group(0)

    return PLACEHOLDER.sub(substitute, text)


def format_value(value: Any) -> str:
    """Numbers as a person writes them: ``4`` not ``4.0``, shortest round-trip otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
