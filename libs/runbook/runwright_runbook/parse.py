"""Turn YAML text or a JSON object into a validated :class:`Runbook`.

Every problem is reported as a :class:`FieldError` whose ``field`` is a path into the runbook
(``steps[2].action.selector``), so an API can answer with an error that names the field.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import yaml

from runwright_runbook.model import Runbook, SelectAction, VariableDef, WaitAction

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class RunbookInvalid(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as text (``generatedAt`` is a string field)."""


_YamlLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RunbookInvalid([FieldError("runbook", f"malformed YAML{where}: {problem}")]) from exc


def field_error_from_msgspec(exc: msgspec.ValidationError, prefix: str = "") -> FieldError:
    """Convert msgspec's ``... - at `$.a[0].b``` message into a field path and a message."""
    match = _AT.match(str(exc))
    message = match.group("msg") if match else str(exc)
    path = (match.group("path") or "") if match else ""
    path = path.lstrip(".")
    named = _MISSING.search(message) or _UNKNOWN.search(message)
    if named:
        path = f"{path}.{named.group('name')}" if path else named.group("name")
    if prefix:
        path = f"{prefix}.{path}" if path and not path.startswith("[") else f"{prefix}{path}"
    return FieldError(path or prefix or "runbook", message)


def parse_runbook(source: str | dict[str, Any]) -> Runbook:
    """Parse and validate a runbook given as YAML text or as an already-decoded mapping."""
    data = load_yaml(source) if isinstance(source, str) else source
    if not isinstance(data, dict):
        raise RunbookInvalid(
            [FieldError("runbook", "expected a mapping with title, settings, metadata and steps")]
        )
    try:
        runbook = msgspec.convert(data, Runbook)
    except msgspec.ValidationError as exc:
        error = field_error_from_msgspec(exc)
        if "[...]" in error.field:
            error = _name_the_key(data, error)
        raise RunbookInvalid([error]) from exc
    errors = semantic_errors(runbook)
    if errors:
        raise RunbookInvalid(errors)
    return runbook


def _name_the_key(data: dict[str, Any], error: FieldError) -> FieldError:
    """msgspec writes map keys as ``[...]``; find which entry of ``variables`` is at fault."""
    variables = data.get("variables")
    if error.field.startswith("variables[...]") and isinstance(variables, dict):
        for name, spec in variables.items():
            try:
                msgspec.convert(spec, VariableDef)
            except msgspec.ValidationError as exc:
                return field_error_from_msgspec(exc, prefix=f"variables.{name}")
    return error


def semantic_errors(runbook: Runbook) -> list[FieldError]:
    """Rules the types alone cannot state."""
    errors: list[FieldError] = []
    previous = -1
    for index, step in enumerate(runbook.steps):
        where = f"steps[{index}]"
        if step.ordinal <= previous:
            errors.append(
                FieldError(
                    f"{where}.ordinal",
                    f"ordinals must be unique and increasing; {step.ordinal} follows {previous}",
                )
            )
        previous = step.ordinal
        action = step.action
        if isinstance(action, SelectAction) and action.value is None and action.option_text is None:
            errors.append(
                FieldError(
                    f"{where}.action.value", "select needs `value` (option value) or `optionText`"
                )
            )
        if isinstance(action, WaitAction) and (
            action.duration is None and action.selector is None and action.load_state is None
        ):
            errors.append(
                FieldError(
                    f"{where}.action.duration", "wait needs `duration`, `selector` or `loadState`"
                )
            )
        for c_index, capture in enumerate(step.captures):
            if capture.pattern is not None:
                try:
                    re.compile(capture.pattern)
                except re.error as exc:
                    errors.append(
                        FieldError(
                            f"{where}.captures[{c_index}].pattern",
                            f"invalid regular expression: {exc}",
                        )
                    )
    return errors
