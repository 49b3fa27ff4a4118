"""A failed step's attempts, each said once: ``{"number", "tried", "result"}`` dicts.

Selector resolution tries its strategies once per pass (smart retry, scroll recovery); Playwright
retries an action and writes every retry into its call log. The step's message says the failure
once; the attempts go, one small dict each, into ``diagnostics["attempts"]``.
"""

from __future__ import annotations

import re
from typing import Any

from runwright_runbook.model import Action, NavigateAction, action_type

from runwright_engine.selectors import Attempt

_CALL_LOG = "Call log:"
_ACTION_TRY = re.compile(r"^(?:attempting|retrying) (?P<what>[\w ]+?) action\b")
_REPEAT = re.compile(r"^\d+ \u00d7 ")  # "2 \u00d7 waiting ...": a repeated line


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split(_CALL_LOG)[0].strip().splitlines()[0][:1000] if text else type(exc).__name__


def _pass_result(tried: list[Attempt]) -> str:
    if any(a.visible == 1 for a in tried):
        return "found"
    if any(a.visible for a in tried):
        return "several visible matches"
    if any(a.matches for a in tried):
        return "matched, but not visible"
    return "nothing matched"


def from_resolution(tried: list[Attempt]) -> list[dict[str, Any]]:
    """One entry per resolution pass: the strategies it tried and what they found."""
    numbers = sorted({a.attempt for a in tried})
    out = []
    for number in numbers:
        this = [a for a in tried if a.attempt == number]
        out.append(
            {
                "number": number,
                "tried": ", ".join(f"{a.strategy}={a.query!r}→{a.matches}" for a in this),
                "result": _pass_result(this),
            }
        )
    return out


def from_call_log(text: str) -> list[dict[str, Any]]:
    """Playwright's retries of an action, from its call log (empty when it has none)."""
    if _CALL_LOG not in text:
        return []
    out: list[dict[str, Any]] = []
    for raw in text.split(_CALL_LOG, 1)[1].splitlines():
        line = _REPEAT.sub("", raw.strip().removeprefix("- ").strip())
        tried = _ACTION_TRY.match(line)
        if tried:
            out.append({"number": len(out) + 1, "tried": f"{tried['what']} action", "result": ""})
        elif out and line and not line.startswith(("waiting", "retrying", "scrolling")):
            result = out[-1]["result"]
            if line not in result:
                out[-1]["result"] = f"{result}; {line}" if result else line
    for attempt in out:
        attempt["result"] = attempt["result"] or "timed out"
    return out


def attempts(exc: BaseException, action: Action) -> list[dict[str, Any]]:
    """The attempts behind a failure: resolution passes, then the action's own retries; a
    failure with neither is one attempt of the action."""
    tried: list[Attempt] = list(getattr(exc, "tried", None) or [])
    out = from_resolution(tried)
    cause = getattr(exc, "cause", exc)
    for entry in from_call_log(str(cause)):
        out.append({**entry, "number": len(out) + 1})
    if not out:
        out.append({"number": 1, "tried": _what(action), "result": first_line(exc)})
    return out


def _what(action: Action) -> str:
    if isinstance(action, NavigateAction):
        return f"navigate to {action.url}"
    return f"{action_type(action)} action"


_SAYS_NOTHING = ("timed out", "nothing matched", "found")


def message(exc: BaseException, found: list[dict[str, Any]]) -> str:
    """The failure said once: the error's first line, and the last attempt's reason when the
    first line does not already say it."""
    line = first_line(exc)
    reasons = [a["result"] for a in found if a["result"] not in _SAYS_NOTHING]
    if reasons and reasons[-1] not in line:
        return f"{line}: {reasons[-1]}"
    return line
