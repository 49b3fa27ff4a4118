"""How people count steps: one convention for every text a person reads."""

from __future__ import annotations


def step_number(ordinal: int) -> int:
    """The number people read for a step: 1 for ordinal 0. The console, status reasons, the CLI,
    reports and notifications all count steps this way; ``ordinal`` stays 0-based on the wire and
    in runbooks."""
    return ordinal + 1


def step_label(ordinal: int) -> str:
    """``"step 3"`` for ordinal 2 (see :func:`step_number`)."""
    return f"step {step_number(ordinal)}"
