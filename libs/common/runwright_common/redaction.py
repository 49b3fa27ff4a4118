"""The one choke point for secrets: values registered here are masked wherever they appear.

The logger and the event serializers pass everything through :func:`redact`.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

MASK = "••••••"

_lock = threading.Lock()
_secrets: Counter[str] = Counter()


def register(values: list[str] | tuple[str, ...] | set[str]) -> None:
    with _lock:
        for value in values:
            if value and len(value) >= 3:
                _secrets[value] += 1


def unregister(values: list[str] | tuple[str, ...] | set[str]) -> None:
    with _lock:
        for value in values:
            if value in _secrets:
                _secrets[value] -= 1
                if _secrets[value] <= 0:
                    del _secrets[value]


def mask_text(text: str, extra: tuple[str, ...] = ()) -> str:
    with _lock:
        known = list(_secrets) + [v for v in extra if v and len(v) >= 3]
    for value in sorted(known, key=len, reverse=True):
        if value in text:
            text = text.replace(value, MASK)
    return text


def redact(value: Any, extra: tuple[str, ...] = ()) -> Any:
    """Return ``value`` with every registered secret (and ``extra``) masked, recursively."""
    if isinstance(value, str):
        return mask_text(value, extra)
    if isinstance(value, dict):
        return {k: redact(v, extra) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact(v, extra) for v in value)
    return value
