"""The sizes a runbook may have, and the walk that checks a decoded document against them.

Every limit is named here once; the validator and submission both reach them through
:func:`runwright_runbook.parse.parse_runbook`, so a runbook the validator calls valid is one
submission accepts. ``docs/limits.md`` lists them for people.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runwright_runbook.errors import FieldError

MAX_RUNBOOK_BYTES = 320 * 1024
"""A runbook's YAML text, or its JSON object once encoded with every default filled in (it must
fit one bus message beside the job's values)."""
MAX_DEPTH = 32
"""Mappings and lists inside one another."""
MAX_NODES = 100_000
"""Values of every kind in one document (aliases count each time they are used)."""
MAX_STEPS = 1000
MAX_VARIABLES = 200


def kib(size: int) -> str:
    return f"{size // 1024} KiB" if size % 1024 == 0 else f"{size} bytes"


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored as PostgreSQL text, or None: NUL or a lone surrogate."""
    if "\x00" in text:
        return "contains a NUL character (U+0000), which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(text[exc.start])
        return f"contains a lone surrogate (U+{code:04X}), which is not valid Unicode"
    return None


def _child(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def document_errors(
    value: Any, root: str = "", *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES
) -> Iterator[FieldError]:
    """Every string that cannot be stored (keys included), and the first place the document
    nests deeper than ``max_depth`` or holds more than ``max_nodes`` values. Iterative, so no
    document can exhaust the stack; it stops counting at the first size problem."""
    pending: list[tuple[Any, str, int]] = [(value, root, 0)]
    nodes = 0
    while pending:
        item, path, depth = pending.pop()
        nodes += 1
        if nodes > max_nodes:
            yield FieldError(root or "runbook", f"holds more than {max_nodes} values")
            return
        if isinstance(item, str):
            if why := unstorable(item):
                yield FieldError(path or root or "runbook", why)
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            yield FieldError(path or root, f"nests deeper than {max_depth} levels")
            return
        entries = item.items() if isinstance(item, dict) else enumerate(item)
        children: list[tuple[Any, str, int]] = []
        for key, child in entries:
            if isinstance(key, str) and (why := unstorable(key)):
                yield FieldError(_child(path, ascii(key)[1:-1]), f"its name {why}")
            children.append(
                (child, _child(path, key if isinstance(key, int | str) else str(key)), depth + 1)
            )
        pending.extend(reversed(children))


def count_errors(data: dict[str, Any]) -> Iterator[FieldError]:
    """More steps or variables than a runbook may have."""
    steps, variables = data.get("steps"), data.get("variables")
    if isinstance(steps, list) and len(steps) > MAX_STEPS:
        yield FieldError(
            "steps", f"a runbook has at most {MAX_STEPS} steps; this one has {len(steps)}"
        )
    if isinstance(variables, dict | list) and len(variables) > MAX_VARIABLES:
        yield FieldError(
            "variables",
            f"a runbook has at most {MAX_VARIABLES} variables; this one has {len(variables)}",
        )
