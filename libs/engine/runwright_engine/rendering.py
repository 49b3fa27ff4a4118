"""A step as it runs: its ``{{name}}`` fields rendered with the values known when it starts.

Variables and every value captured by earlier steps are known then, so a description, a URL, an
input's value or a selector's text can use what step 1 read from the page. Names not known are
left as written. Captures' ``expression`` and ``pattern`` are not rendered here: an expression is
a template of its own (see :mod:`runwright_engine.templates`), evaluated after the action.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import msgspec
from runwright_common import redaction
from runwright_runbook.model import Capture, Step
from runwright_runbook.variables import PLACEHOLDER, interpolate

T = TypeVar("T")

_NOT_RENDERED = {(Capture, "expression"), (Capture, "pattern"), (Capture, "name")}


def render_fields(value: T, values: Mapping[str, Any]) -> T:
    """``value`` with every string inside it rendered (structs, lists and maps walked)."""
    rendered: Any
    if isinstance(value, str):
        rendered = interpolate(value, values)
    elif isinstance(value, msgspec.Struct):
        changes = {
            name: render_fields(getattr(value, name), values)
            for name in value.__struct_fields__
            if (type(value), name) not in _NOT_RENDERED
        }
        rendered = msgspec.structs.replace(value, **changes)
    elif isinstance(value, list):
        rendered = [render_fields(item, values) for item in value]
    elif isinstance(value, dict):
        rendered = {key: render_fields(item, values) for key, item in value.items()}
    else:
        rendered = value
    return rendered  # type: ignore[no-any-return]


def render_step(step: Step, values: Mapping[str, Any]) -> Step:
    """The step with its description, url, action (selector included) and captures' prompts
    rendered; ordinal, memory operations and captures' expressions stay as written."""
    return msgspec.structs.replace(
        step,
        description=interpolate(step.description, values),
        url=interpolate(step.url, values) if step.url is not None else None,
        action=render_fields(step.action, values),
        captures=render_fields(step.captures, values),
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            if (type(value), name) not in _NOT_RENDERED:
                yield from _strings(getattr(value, name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def names_used(step: Step) -> set[str]:
    """The variables a step's rendered fields name (the part before any dot)."""
    return {
        match.group(1).split(".")[0]
        for text in _strings(msgspec.structs.replace(step, memory_operations=[]))
        for match in PLACEHOLDER.finditer(text)
    }


def masked_description(
    step: Step, values: Mapping[str, Any], hidden: set[str], secrets: tuple[str, ...]
) -> str:
    """What people read for the step: rendered, with secret and sensitive values masked (by
    name, and wherever a secret's text turns up in another value)."""
    shown = {name: redaction.MASK if name in hidden else v for name, v in values.items()}
    return redaction.mask_text(interpolate(step.description, shown), secrets)
