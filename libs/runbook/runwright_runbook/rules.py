"""Rules the types alone cannot state, checked on every step that has the right shape."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from runwright_runbook.errors import FieldError
from runwright_runbook.model import SelectAction, Step, WaitAction


def ordinal_errors(ordinals: Iterable[tuple[int, int]]) -> Iterator[FieldError]:
    """``(index, ordinal)`` pairs in document order: ordinals must be unique and increasing."""
    previous = -1
    for index, ordinal in ordinals:
        if ordinal <= previous:
            yield FieldError(
                f"steps[{index}].ordinal",
                f"ordinals must be unique and increasing; {ordinal} follows {previous}",
            )
        previous = ordinal


def step_errors(index: int, step: Step) -> Iterator[FieldError]:
    where = f"steps[{index}]"
    action = step.action
    if isinstance(action, SelectAction) and action.value is None and action.option_text is None:
        yield FieldError(
            f"{where}.action.value", "select needs `value` (option value) or `optionText`"
        )
    if isinstance(action, WaitAction) and (
        action.duration is None and action.selector is None and action.load_state is None
    ):
        yield FieldError(
            f"{where}.action.duration", "wait needs `duration`, `selector` or `loadState`"
        )
    for c_index, capture in enumerate(step.captures):
        if capture.pattern is not None:
            try:
                re.compile(capture.pattern)
            except re.error as exc:
                yield FieldError(
                    f"{where}.captures[{c_index}].pattern", f"invalid regular expression: {exc}"
                )
