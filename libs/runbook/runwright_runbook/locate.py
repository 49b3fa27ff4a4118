"""Where in a runbook's YAML text a validation error points: the line of the deepest part of its
field path (``steps[2].action.selector``) that the text has, so an editor can mark it."""

from __future__ import annotations

import re

import yaml

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path: str) -> list[str | int]:
    return [int(index) if index else name for name, index in _TOKEN.findall(path)]


def line_of(text: str, path: str) -> int | None:
    """The 1-based line ``path`` (a field error's path inside the runbook) points at in
    ``text``; None when the text does not parse or the path names nothing in it."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return mark.line + 1 if mark is not None else None
    if node is None:
        return None
    found = node
    for part in _parts(path.removeprefix("runbook").lstrip(".")):
        nxt = None
        if isinstance(part, str) and isinstance(found, yaml.MappingNode):
            nxt = next((v for k, v in found.value if getattr(k, "value", None) == part), None)
            if nxt is None:
                # The key is missing: point at the mapping that should hold it.
                break
        elif isinstance(part, int) and isinstance(found, yaml.SequenceNode):
            nxt = found.value[part] if part < len(found.value) else None
        if nxt is None:
            break
        found = nxt
    line: int = found.start_mark.line + 1
    return line
