"""Captures: values read after a step's action (snapshot, url, expression; ai via a plug-in)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from playwright.async_api import Page
from runwright_runbook.model import Capture

from runwright_engine.plugins import AiProvider
from runwright_engine.templates import render


class CaptureFailed(Exception):
    pass


def apply_pattern(text: str, pattern: str | None, group: int | None) -> str | None:
    if pattern is None:
        return text.strip()
    match = re.search(pattern, text)
    if match is None:
        return None
    index = group if group is not None else (1 if match.re.groups else 0)
    try:
        value = match.group(index)
    except IndexError as exc:
        raise CaptureFailed(f"pattern has no group {index}") from exc
    return value.strip() if isinstance(value, str) else value


async def capture_value(
    page: Page, capture: Capture, values: Mapping[str, Any], ai: AiProvider | None
) -> Any:
    match capture.strategy:
        case "snapshot":
            text = await page.evaluate("() => document.body ? document.body.innerText : ''")
            return apply_pattern(str(text), capture.pattern, capture.group)
        case "url":
            return apply_pattern(page.url, capture.pattern, capture.group)
        case "expression":
            value = await render(capture.expression or "", values, page)
            if isinstance(value, str) and capture.pattern:
                return apply_pattern(value, capture.pattern, capture.group)
            return value
        case "ai":
            if ai is None:
                raise CaptureFailed("the `ai` capture strategy needs an AI provider")
            return await ai.capture(page, capture, values)
    raise CaptureFailed(f"unknown capture strategy {capture.strategy!r}")


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
