"""Turn YAML text or a JSON object into a validated :class:`Runbook`.

Every problem is reported, all at once, as a :class:`FieldError` whose ``field`` is a path into
the runbook (``steps[2].action.selector``), so an API can answer with errors that name fields.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
import yaml

from runwright_runbook import limits, rules, shape
from runwright_runbook.defaults import with_defaults
from runwright_runbook.errors import FieldError, RunbookInvalid
from runwright_runbook.model import Runbook, Step

__all__ = ["FieldError", "RunbookInvalid", "field_error_from_msgspec", "load_yaml", "parse_runbook"]

_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<name>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<name>[^`]+)`")


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader that keeps timestamps as text (``generatedAt`` is a string field) and refuses
    nesting deeper than :data:`limits.MAX_DEPTH` while composing, before recursion could."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > limits.MAX_DEPTH + 1:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nests deeper than {limits.MAX_DEPTH} levels", mark
                )
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_YamlLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    if why := limits.unstorable(text):
        raise RunbookInvalid([FieldError("runbook", f"the YAML text {why}")])
    if len(text.encode("utf-8")) > limits.MAX_RUNBOOK_BYTES:
        raise RunbookInvalid([_too_big()])
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


def _too_big() -> FieldError:
    return FieldError("runbook", f"a runbook is at most {limits.kib(limits.MAX_RUNBOOK_BYTES)}")


def _limit_errors(data: Any) -> list[FieldError]:
    """Sizes first: a document over a limit is refused before any rule walks it."""
    errors = list(limits.document_errors(data))
    if errors:
        return errors
    if not isinstance(data, dict):
        return []
    return list(limits.count_errors(data))


def parse_runbook(source: str | dict[str, Any]) -> Runbook:
    """Parse and validate a runbook given as YAML text or as an already-decoded mapping; raise
    :class:`RunbookInvalid` with every error found."""
    data = load_yaml(source) if isinstance(source, str) else source
    if errors := _limit_errors(data):
        raise RunbookInvalid(errors)
    if not isinstance(data, dict):
        raise RunbookInvalid([FieldError("runbook", "expected a mapping with a title and steps")])
    data = with_defaults(data)
    errors = list(shape.errors(data, Runbook))
    errors += _rule_errors(data, errors)
    if errors:
        raise RunbookInvalid(errors)
    try:
        runbook = msgspec.convert(data, Runbook)
    except msgspec.ValidationError as exc:  # a rule of msgspec's the walk does not know
        raise RunbookInvalid([field_error_from_msgspec(exc)]) from exc
    if len(msgspec.json.encode(runbook)) > limits.MAX_RUNBOOK_BYTES:  # defaults filled in
        raise RunbookInvalid([_too_big()])
    return runbook


def _rule_errors(data: dict[str, Any], found: list[FieldError]) -> list[FieldError]:
    """The rules beyond types: ordinals, and the rest for every step whose shape is right."""
    steps = data.get("steps")
    if not isinstance(steps, list):
        return []
    ordinals = [
        (index, raw["ordinal"])
        for index, raw in enumerate(steps)
        if isinstance(raw, dict) and type(raw.get("ordinal")) is int
    ]
    errors = list(rules.ordinal_errors(ordinals))
    for index, raw in enumerate(steps):
        at = f"steps[{index}]"
        if any(e.field == at or e.field.startswith((f"{at}.", f"{at}[")) for e in found):
            continue
        try:
            step = msgspec.convert(raw, Step)
        except msgspec.ValidationError:
            continue  # reported when the whole runbook is converted
        errors += rules.step_errors(index, step)
    return errors
