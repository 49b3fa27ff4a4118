"""Selector resolution: the documented strategies in priority order, filters, smart retry.

Each strategy yields candidate locators (text strategies: exact, then case-insensitive exact, then
case-insensitive substring). The first candidate with a unique visible match wins; an ambiguous
match is remembered and used only when no strategy finds a unique one. Between attempts the
resolver waits longer each time and notes whether the page changed, which decides the error class.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.async_api import Locator, Page
from runwright_common.logging import get_logger
from runwright_runbook.model import Selector

from runwright_engine.plugins import AiProvider

log = get_logger("runwright.engine.selectors")

RETRY_WAITS_MS = (250, 1000, 2500)
PAGE_FINGERPRINT = """() => [location.href, document.title,
    document.getElementsByTagName('*').length,
    (document.body ? document.body.innerText.length : 0)].join('|')"""


@dataclass
class Attempt:
    strategy: str
    query: str
    matches: int
    visible: int
    attempt: int = 1


@dataclass
class Resolution:
    locator: Locator
    strategy: str
    retries: int
    tried: list[Attempt] = field(default_factory=list)


class SelectorNotFound(Exception):
    def __init__(self, tried: list[Attempt], retries: int, page_changed: bool) -> None:
        self.tried, self.retries, self.page_changed = tried, retries, page_changed
        last = [a for a in tried if a.attempt == tried[-1].attempt] if tried else []
        summary = ", ".join(f"{a.strategy}={a.query!r}→{a.matches}" for a in last[:12])
        times = f" in {retries + 1} attempts" if retries else ""
        super().__init__(
            f"no element matched the selector{times} ({summary or 'no strategy given'})"
        )


def _quote(value: str) -> str:
    return json.dumps(value)


def _text_tiers(value: str) -> list[tuple[str, str | re.Pattern[str]]]:
    """Exact (whitespace collapsed), case-insensitive exact, case-insensitive substring."""
    text = " ".join(value.split())
    return [
        ("exact", text),
        ("case-insensitive", re.compile(f"^{re.escape(text)}$", re.I)),
        ("substring", re.compile(re.escape(text), re.I)),
    ]


Candidate = tuple[str, str, Callable[[Page], Locator]]


def candidates(selector: Selector) -> list[Candidate]:
    """``(strategy, query shown in diagnostics, locator factory)`` in priority order, for a
    selector whose ``{{name}}`` values were rendered when its step started."""
    s = selector
    out: list[Candidate] = []

    def css(strategy: str, query: str, selector: str) -> None:
        out.append((strategy, query, lambda p: p.locator(selector)))

    if s.id:
        css("id", s.id, f"[id={_quote(s.id)}]")
    if s.aria_label:
        label = s.aria_label
        css("ariaLabel", label, f"[aria-label={_quote(label)}]")
        for tier, pattern in _text_tiers(label)[1:]:
            out.append((f"ariaLabel ({tier})", label, _by_text("labelText", pattern)))
    if s.data_test_id:
        css("dataTestId", s.data_test_id, f"[data-testid={_quote(s.data_test_id)}]")
    if s.data_attributes:
        query = "".join(
            f"[data-{k.removeprefix('data-')}={_quote(v)}]" for k, v in s.data_attributes.items()
        )
        css("dataAttributes", query, query)
    if s.css_selector:
        css("cssSelector", s.css_selector, s.css_selector)
    if s.x_path:
        css("xPath", s.x_path, f"xpath={s.x_path}")
    for strategy, raw in (
        ("labelText", s.label_text),
        ("innerText", s.inner_text),
        ("placeholder", s.placeholder),
    ):
        if raw:
            for tier, pattern in _text_tiers(raw):
                name = strategy if tier == "exact" else f"{strategy} ({tier})"
                out.append((name, raw, _by_text(strategy, pattern)))
    if s.name:
        css("name", s.name, f"[name={_quote(s.name)}]")
    return out


def _by_text(strategy: str, pattern: str | re.Pattern[str]) -> Callable[[Page], Locator]:
    exact = isinstance(pattern, str)
    if strategy == "labelText":
        return lambda p: p.get_by_label(pattern, exact=exact)
    if strategy == "placeholder":
        return lambda p: p.get_by_placeholder(pattern, exact=exact)
    return lambda p: p.get_by_text(pattern, exact=exact)


def apply_filters(page: Page, locator: Locator, selector: Selector) -> Locator:
    if selector.tag_name:
        locator = locator.and_(page.locator(selector.tag_name.lower()))
    if selector.input_type:
        kind = selector.input_type.lower()
        css = f"[type={_quote(kind)} i]" + (", input:not([type])" if kind == "text" else "")
        locator = locator.and_(page.locator(css))
    if selector.role:
        locator = locator.and_(page.get_by_role(selector.role))  # type: ignore[arg-type]
    return locator


async def _visibility(locator: Locator, limit: int = 5) -> list[bool]:
    """Whether each match (the first ``limit``) is visible. Runs in Playwright's own isolated
    world, which its actions use anyway, so no script is injected into the page."""
    count = await locator.count()
    return [await locator.nth(i).is_visible() for i in range(min(count, limit))] + [False] * max(
        0, count - limit
    )


async def _rect_locator(page: Page, selector: Selector) -> Locator | None:
    rect = selector.rect
    if rect is None:
        return None
    found = await page.evaluate(
        """([x, y]) => { const el = document.elementFromPoint(x, y);
            if (!el) return false; el.setAttribute('data-runwright-rect', '1'); return true; }""",
        [rect.x + rect.width / 2, rect.y + rect.height / 2],
    )
    return page.locator("[data-runwright-rect='1']").last if found else None


async def resolve_once(
    page: Page, selector: Selector, tried: list[Attempt], attempt: int = 1
) -> tuple[Locator, str] | None:
    """One pass over the strategies: how many elements each matches, and which are visible."""
    ambiguous: tuple[Locator, str] | None = None
    hidden: tuple[Locator, str] | None = None
    for strategy, query, factory in candidates(selector):
        try:
            locator = apply_filters(page, factory(page), selector)
            flags = await _visibility(locator)
        except Exception as exc:  # an invalid CSS or XPath expression
            tried.append(Attempt(strategy, f"{query} ({type(exc).__name__})", 0, 0, attempt))
            continue
        visible = [i for i, flag in enumerate(flags) if flag]
        tried.append(Attempt(strategy, query, len(flags), len(visible), attempt))
        if len(visible) == 1:
            return locator.nth(visible[0]), strategy
        if visible and ambiguous is None:
            ambiguous = (locator.nth(visible[0]), f"{strategy} (first of {len(visible)} visible)")
        if len(flags) == 1 and hidden is None:
            hidden = (locator.nth(0), f"{strategy} (not visible yet)")
    if ambiguous is not None:
        return ambiguous
    if hidden is not None:
        return hidden
    rect = await _rect_locator(page, selector)
    if rect is not None:
        tried.append(Attempt("rect", str(selector.rect), 1, 1, attempt))
        return rect, "rect"
    return None


async def fingerprint(page: Page) -> str:
    try:
        return str(await page.evaluate(PAGE_FINGERPRINT))
    except Exception as exc:  # a page navigating away: no fingerprint this time
        log.debug("page fingerprint not read", error=repr(exc))
        return "unavailable"


async def resolve(
    page: Page,
    selector: Selector,
    timeout_ms: int,
    *,
    ai: AiProvider | None = None,
    description: str = "",
) -> Resolution:
    """Deterministic strategies, then the AI stage (if configured), then smart retry with
    escalating waits (250 ms, 1 s, then every 2.5 s until ``timeout_ms``), then scroll recovery.
    Each retry is counted; the caller records the count on the step."""
    deadline = time.monotonic() + timeout_ms / 1000
    tried: list[Attempt] = []
    found = await resolve_once(page, selector, tried)
    if found is not None:
        return Resolution(found[0], found[1], 0, tried)
    first_print = await fingerprint(page)
    if ai is not None:
        located = await ai.resolve_selector(page, selector, description)
        if located is not None:
            return Resolution(located, f"ai ({ai.name})", 0, tried)
    retries = 0
    while (remaining := deadline - time.monotonic()) > 0:
        wait = RETRY_WAITS_MS[min(retries, len(RETRY_WAITS_MS) - 1)] / 1000
        await asyncio.sleep(min(wait, remaining))
        retries += 1
        found = await resolve_once(page, selector, tried, retries + 1)
        if found is not None:
            return Resolution(found[0], found[1], retries, tried)
    if await _scroll_recovery(page):
        retries += 1
        found = await resolve_once(page, selector, tried, retries + 1)
        if found is not None:
            return Resolution(found[0], f"{found[1]} (after scrolling)", retries, tried)
    changed = await fingerprint(page) != first_print
    raise SelectorNotFound(tried, retries, changed)


async def _scroll_recovery(page: Page) -> bool:
    """Scroll through the page once (lazy content appears when scrolled to); True if it moved."""
    try:
        moved: bool = await page.evaluate(
            """async () => { const start = window.scrollY; let moved = false;
                for (let i = 0; i < 10; i++) {
                  const before = window.scrollY; window.scrollBy(0, window.innerHeight);
                  await new Promise(r => setTimeout(r, 50));
                  if (window.scrollY === before) break; moved = true; }
                return moved || window.scrollY !== start; }"""
        )
        return moved
    except Exception as exc:  # a page navigating away: nothing scrolled
        log.debug("page not scrolled", error=repr(exc))
        return False
