"""Expression templates: the ``expression`` of a capture or of an ``expression`` variable.

The value is the text with each ``{{...}}`` replaced. A name (``{{total}}``; dotted names such as
``{{row.price}}`` reach into objects) is a variable or a value captured so far, and an unknown name
is an error; anything else (``{{Date.now()}}``, ``{{ 6 * 7 }}``) is a JavaScript expression
evaluated in the page, and so is a name that starts with one of the page's standard globals
(``{{document.title}}``, ``{{location.href}}``) unless a variable has that name. Literal text
around placeholders is kept. A template that is exactly one placeholder keeps the value's type,
so ``{{__extracted}}`` can stay a number or a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from runwright_runbook.variables import UnknownName, format_value, lookup

PLACEHOLDER = re.compile(r"\{\{\s*((?:(?!\}\}).)+?)\s*\}\}", re.DOTALL)
NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z0-9_$]+)*$")
PAGE_GLOBALS = frozenset(
    {
        *("window", "document", "location", "navigator", "history", "screen", "performance"),
        *("localStorage", "sessionStorage", "globalThis", "Date", "Math", "JSON", "Intl"),
        *("Number", "String", "Boolean", "Array", "Object"),
    }
)
"""Names that are JavaScript, not variables, when no variable or capture has that name."""


class TemplateError(Exception):
    """A placeholder could not be given a value; the message names the placeholder."""


async def _evaluate(expression: str, values: Mapping[str, Any], page: Page | None) -> Any:
    if NAME.match(expression) and not _page_global(expression, values):
        try:
            return lookup(expression, values)
        except UnknownName:
            raise TemplateError(
                f"`{{{{{expression}}}}}` names no variable or value captured so far "
                f"(to evaluate JavaScript, write it as `{{{{({expression})}}}}`)"
            ) from None
    if page is None:
        raise TemplateError(f"`{{{{{expression}}}}}` needs a page to evaluate JavaScript in")
    try:
        return await page.evaluate(f"() => ({expression})")
    except PlaywrightError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TemplateError(f"`{{{{{expression}}}}}` failed in the page: {reason}") from exc


def _page_global(name: str, values: Mapping[str, Any]) -> bool:
    head = name.split(".")[0]
    return head in PAGE_GLOBALS and head not in values


async def render(template: str, values: Mapping[str, Any], page: Page | None) -> Any:
    """The template's value; raises :class:`TemplateError` naming the placeholder at fault."""
    whole = PLACEHOLDER.fullmatch(template.strip())
    if whole:
        return await _evaluate(whole.group(1), values, page)
    out, last = [], 0
    for match in PLACEHOLDER.finditer(template):
        out.append(template[last : match.start()])
        out.append(format_value(await _evaluate(match.group(1), values, page)))
        last = match.end()
    out.append(template[last:])
    return "".join(out)
