"""Memory operations: named collections that live for the whole run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runwright_runbook.model import AggregateOperation, AppendOperation, MemoryOperation

from runwright_engine.numbers import as_number, normalise


class MemoryError_(Exception):
    """A memory operation could not run (e.g. its source was never captured)."""


def apply(
    op: MemoryOperation, memory: dict[str, list[Any]], values: Mapping[str, Any]
) -> tuple[str, Any] | None:
    """Run ``op``; an aggregate with ``outputVariable`` returns ``(name, result)``."""
    match op:
        case AppendOperation():
            if op.source not in values:
                raise MemoryError_(f"append: nothing captured as `{op.source}`")
            value = values[op.source]
            items = memory.setdefault(op.collection, [])
            if isinstance(value, list):
                items.extend(value)
            else:
                items.append(value)
            return None
        case AggregateOperation():
            result = aggregate(memory.get(op.collection, []), op.operation, op.field)
            return (op.output_variable, result) if op.output_variable else None
    return None


def aggregate(items: list[Any], operation: str, field: str | None) -> Any:
    if field:
        items = [item.get(field) for item in items if isinstance(item, Mapping)]
    if operation == "count":
        return len(items)
    numbers = [n for n in (as_number(i) for i in items) if n is not None]
    if operation == "sum":
        return normalise(round(sum(numbers), 10))
    if not numbers:
        return None
    if operation == "avg":
        return normalise(round(sum(numbers) / len(numbers), 10))
    if operation == "min":
        return min(numbers)
    return max(numbers)
