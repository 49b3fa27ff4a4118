"""The values a job's ``{{name}}`` placeholders resolve to, by the documented priority.

First match wins: secrets > data > context > env > expression > fixed > prompt. ``env`` reads only
variables whose name starts with the allow-listed prefix (``RUNWRIGHT_VAR_`` unless configured),
never arbitrary process environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from playwright.async_api import Page
from runwright_runbook.model import Runbook, VariableDef
from runwright_runbook.variables import ENV_PREFIX

from runwright_engine.plugins import AiProvider
from runwright_engine.templates import TemplateError, render

_LATE = object()


def _early(
    name: str,
    spec: VariableDef,
    *,
    variables: Mapping[str, Any],
    secrets: Mapping[str, str],
    data: Mapping[str, Any] | None,
    mapping: Mapping[str, str],
    env: Mapping[str, str],
    env_prefix: str,
) -> Any:
    """The value known before the browser opens, ``_LATE`` for page-dependent ones, or None."""
    if name in secrets:
        return secrets[name]
    if data is not None and name in mapping and mapping[name] in data:
        return data[mapping[name]]
    if spec.source == "context":
        return _LATE
    if (
        spec.source == "env"
        and spec.env_key
        and spec.env_key.startswith(env_prefix)
        and spec.env_key in env
    ):
        return env[spec.env_key]
    if spec.source == "expression":
        return _LATE
    if spec.source == "fixed" and spec.value is not None:
        return spec.value
    return variables.get(name)


def resolve_values(
    runbook: Runbook,
    variables: Mapping[str, Any],
    secrets: Mapping[str, str],
    *,
    data: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    env_prefix: str = ENV_PREFIX,
) -> tuple[dict[str, Any], list[str]]:
    """Values known up front, and the names that need the page (expression, context)."""
    env = os.environ if env is None else env
    mapping = runbook.data_source.mapping if runbook.data_source else {}
    values: dict[str, Any] = dict(variables)
    late: list[str] = []
    for name, spec in runbook.variables.items():
        value = _early(
            name,
            spec,
            variables=variables,
            secrets=secrets,
            data=data,
            mapping=mapping,
            env=env,
            env_prefix=env_prefix,
        )
        if value is _LATE:
            late.append(name)
        elif value is not None:
            values[name] = value
    values.update(secrets)
    return values, late


async def resolve_late(
    runbook: Runbook, names: list[str], values: dict[str, Any], page: Page, ai: AiProvider | None
) -> dict[str, str]:
    """Give the page-dependent variables their values; returns what failed, name → why (a step
    that uses such a variable fails with that reason, the others run)."""
    failed: dict[str, str] = {}
    for name in names:
        spec = runbook.variables[name]
        if spec.source == "expression" and spec.expression:
            try:
                values[name] = await render(spec.expression, values, page)
            except TemplateError as exc:
                failed[name] = f"variable `{name}`: {exc}"
        elif spec.source == "context" and ai is not None:
            values[name] = await ai.context_variable(
                runbook.context or "", name, spec.description or ""
            )
    return failed


def secret_values(
    runbook: Runbook, values: Mapping[str, Any], secrets: Mapping[str, str]
) -> tuple[str, ...]:
    """Every value that must never be shown: run secrets and sensitive variables."""
    hidden = {str(v) for v in secrets.values()}
    for name, spec in runbook.variables.items():
        if spec.sensitive and name in values:
            hidden.add(str(values[name]))
    return tuple(v for v in hidden if v)


def hidden_names(runbook: Runbook, secrets: Mapping[str, str]) -> set[str]:
    """Names whose values people must never read: run secrets and sensitive variables."""
    return set(secrets) | {n for n, s in runbook.variables.items() if s.sensitive}
