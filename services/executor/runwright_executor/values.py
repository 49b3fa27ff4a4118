"""The values a job's ``{{name}}`` placeholders resolve to, by the documented priority.

First match wins: secrets > data > context > env > expression > fixed > prompt.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runwright_runbook.model import Runbook

ENV_PREFIX = "RUNWRIGHT_VAR_"


def resolve_values(
    runbook: Runbook, variables: Mapping[str, Any], secrets: Mapping[str, str]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in runbook.variables.items():
        if spec.source in ("prompt", "data") and name in variables:
            values[name] = variables[name]
        elif spec.source == "fixed" and spec.value is not None:
            values[name] = spec.value
        elif (
            spec.source == "env"
            and spec.env_key
            and spec.env_key.startswith(ENV_PREFIX)
            and spec.env_key in os.environ
        ):
            values[name] = os.environ[spec.env_key]
    for name, value in variables.items():
        values.setdefault(name, value)
    values.update(secrets)
    return values


def secret_values(
    runbook: Runbook, values: Mapping[str, Any], secrets: Mapping[str, str]
) -> tuple[str, ...]:
    """Every value that must never be shown: run secrets and sensitive variables."""
    hidden = {str(v) for v in secrets.values()}
    for name, spec in runbook.variables.items():
        if spec.sensitive and name in values:
            hidden.add(str(values[name]))
    return tuple(v for v in hidden if v)
