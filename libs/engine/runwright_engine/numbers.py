"""Reading numbers the way pages print them, and writing them the way people read them."""

from __future__ import annotations

import re
from typing import Any

_NOISE = re.compile(r"[\s,$€£¥%]")


def as_number(value: Any) -> float | int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        text = _NOISE.sub("", value)
        try:
            number = float(text)
        except ValueError:
            return None
        return normalise(number)
    return None


def normalise(value: float | int) -> float | int:
    """Whole numbers become ``int`` (``4``, never ``4.0``)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
