"""Failure classes for steps, decided in the documented order, each with a recovery hint."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.async_api import Error as PlaywrightError

from runwright_engine.egress.guard import HINT as EGRESS_HINT
from runwright_engine.egress.guard import EgressBlocked
from runwright_engine.selectors import SelectorNotFound

HINTS = {
    "Action failed": "The element was found but the action threw: try another interaction "
    "(hover first, a key press, or a different element).",
    "Element stale": "The element went away while it was used: clear cached references and run "
    "the step again, or wait for the page to settle first.",
    "Page structure changed": "The selector failed while the page was changing: the page's "
    "structure differs from the recording; update the selector.",
    "Element not found": "The selector matched nothing and the page did not change: update "
    "ariaLabel, role or text in the selector.",
    "Navigation timeout": "A page load or wait timed out: add a `wait` step before this one or "
    "raise settings.defaultTimeout.",
    "Egress blocked": EGRESS_HINT,
    "Unknown": "Unexpected error: see the message and the diagnostics.",
}

TEMPLATE_HINT = (
    "A `{{...}}` placeholder had no value: use the name of a variable or of a value captured by "
    "an earlier step (or this step's `__extracted`), or write JavaScript in parentheses."
)


@dataclass
class StepFailure(Exception):
    kind: str
    message: str
    diagnostics: dict[str, object]

    @property
    def hint(self) -> str:
        return HINTS[self.kind]


class ActionFailed(Exception):
    """The element was resolved, then the action on it raised."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def classify(exc: BaseException) -> str:
    text = str(exc).lower()
    if isinstance(exc, EgressBlocked):
        return "Egress blocked"
    if isinstance(exc, ActionFailed):
        cause = str(exc.cause).lower()
        if "not attached" in cause or "detached" in cause or "stale" in cause:
            return "Element stale"
        if "timeout" in cause and ("navigation" in cause or "waiting for" in cause):
            return "Action failed"
        return "Action failed"
    if isinstance(exc, SelectorNotFound):
        return "Page structure changed" if exc.page_changed else "Element not found"
    if "not attached" in text or "stale" in text:
        return "Element stale"
    if isinstance(exc, TimeoutError | PlaywrightError) and (
        "timeout" in text or "navigation" in text or "net::" in text
    ):
        return "Navigation timeout"
    return "Unknown"
