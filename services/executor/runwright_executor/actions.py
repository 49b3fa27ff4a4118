"""What each action type does in the page."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import Locator, Page
from runwright_runbook.model import (
    Action,
    ClickAction,
    ExtractAction,
    HoverAction,
    InputAction,
    KeyAction,
    NavigateAction,
    Runbook,
    ScrollAction,
    SelectAction,
    Selector,
    WaitAction,
)
from runwright_runbook.variables import interpolate

from runwright_executor.errors import ActionFailed
from runwright_executor.selectors import Resolution, apply_filters, candidates, resolve


@dataclass
class Outcome:
    retries: int = 0
    strategy: str | None = None
    extracted: Any = None


class UnsupportedAction(Exception):
    pass


def absolute_url(runbook: Runbook, url: str) -> str:
    base = runbook.settings.base_url or runbook.metadata.start_url
    return urljoin(base.rstrip("/") + "/", url) if base and "://" not in url else url


async def _locate(
    page: Page, selector: Selector, values: Mapping[str, Any], timeout_ms: int
) -> Resolution:
    return await resolve(page, selector, values, timeout_ms)


async def _act(coro: Any) -> None:
    try:
        await coro
    except Exception as exc:
        raise ActionFailed(exc) from exc


async def perform(
    page: Page, runbook: Runbook, action: Action, values: Mapping[str, Any], timeout_ms: int
) -> Outcome:
    def text(value: str) -> str:
        return interpolate(value, values)

    match action:
        case NavigateAction():
            await page.goto(
                absolute_url(runbook, text(action.url)), timeout=timeout_ms, wait_until="load"
            )
            return Outcome()
        case ClickAction() | HoverAction() | InputAction() | SelectAction():
            found = await _locate(page, action.selector, values, timeout_ms)
            await _act(_element_action(found.locator, action, text, timeout_ms))
            return Outcome(found.retries, found.strategy)
        case WaitAction():
            return await _wait(page, action, values, timeout_ms)
        case KeyAction():
            if action.selector is not None:
                found = await _locate(page, action.selector, values, timeout_ms)
                await _act(found.locator.press(text(action.key), timeout=timeout_ms))
                return Outcome(found.retries, found.strategy)
            await page.keyboard.press(text(action.key))
            return Outcome()
        case ScrollAction():
            if action.selector is not None:
                found = await _locate(page, action.selector, values, timeout_ms)
                await _act(found.locator.scroll_into_view_if_needed(timeout=timeout_ms))
                return Outcome(found.retries, found.strategy)
            await page.mouse.wheel(0, action.delta_y if action.delta_y is not None else 600)
            return Outcome()
        case ExtractAction():
            return Outcome(extracted=await page.evaluate(_as_function(text(action.script))))
    raise UnsupportedAction(
        f"action type {type(action).__struct_config__.tag!r} is not supported by this executor yet"
    )


def _element_action(locator: Locator, action: Action, text: Any, timeout_ms: int) -> Any:
    match action:
        case ClickAction():
            return locator.click(timeout=timeout_ms)
        case HoverAction():
            return locator.hover(timeout=timeout_ms)
        case InputAction():
            return locator.fill(text(action.value), timeout=timeout_ms)
        case SelectAction():
            if action.value is not None:
                return locator.select_option(value=text(action.value), timeout=timeout_ms)
            return locator.select_option(label=text(action.option_text or ""), timeout=timeout_ms)
    raise UnsupportedAction(str(action))


async def _wait(
    page: Page, action: WaitAction, values: Mapping[str, Any], timeout_ms: int
) -> Outcome:
    if action.duration is not None:
        await asyncio.sleep(action.duration / 1000)
    if action.load_state is not None:
        await page.wait_for_load_state(action.load_state, timeout=timeout_ms)
    if action.selector is not None and action.state in ("hidden", "detached"):
        options = candidates(action.selector, values)
        if options:
            locator = apply_filters(page, options[0][2](page), action.selector)
            await locator.first.wait_for(state=action.state, timeout=timeout_ms)
            return Outcome(strategy=options[0][0])
    if action.selector is not None:
        found = await _locate(page, action.selector, values, timeout_ms)
        await found.locator.wait_for(state=action.state, timeout=timeout_ms)
        return Outcome(found.retries, found.strategy)
    return Outcome()


def _as_function(script: str) -> str:
    """An expression, a function, or a body with ``return`` (wrapped in a function)."""
    stripped = script.strip()
    if (
        stripped.startswith(("function", "async function", "(", "async (")) and "=>" in stripped
    ) or stripped.startswith(("function", "async function")):
        return stripped
    if "return" in stripped:
        return f"async () => {{ {stripped} }}"
    return f"() => ({stripped})"
