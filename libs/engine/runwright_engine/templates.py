"""``{{...}}`` templates that may hold more than a name: expression variables and captures.

``{{name}}`` is a variable (dotted names reach into objects); anything else, such as
``{{Date.now()}}``, is a JavaScript expression evaluated in the page. A template that is exactly
one placeholder keeps the value's type, so ``{{__extracted}}`` can be a number or a list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from playwright.async_api import Page
from runwright_runbook.variables import format_value

PLACEHOLDER = re.compile(r"\{\{\s*(.+?)\s*\}\}")
NAME = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z0-9_$]+)*$")


class Unresolved(Exception):
    pass


def lookup(name: str, values: Mapping[str, Any]) -> Any:
    if name in values:
        return values[name]
    head, _, rest = name.partition(".")
    value: Any = values.get(head)
    if value is None:
        raise Unresolved(name)
    for part in rest.split(".") if rest else []:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise Unresolved(name)
    return value


async def _evaluate(expression: str, values: Mapping[str, Any], page: Page | None) -> Any:
    if NAME.match(expression):
        return lookup(expression, values)
    if page is None:
        raise Unresolved(expression)
    return await page.evaluate(f"() => ({expression})")


async def render(template: str, values: Mapping[str, Any], page: Page | None) -> Any:
    whole = PLACEHOLDER.fullmatch(template.strip())
    if whole:
        return await _evaluate(whole.group(1), values, page)
    out, last = [], 0
    for match in PLACEHOLDER.finditer(template):
        out.append(template[last : match.start()])
        try:
            out.append(format_value(await _evaluate(match.group(1), values, page)))
        except Unresolved:
            out.append(match.group(0))
        last = match.end()
    out.append(template[last:])
    return "".join(out)
