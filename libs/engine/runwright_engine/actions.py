"""What each of the 12 action types does in the page."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeoutError
from runwright_runbook.model import (
    Action,
    ClickAction,
    DownloadAction,
    ExportAction,
    ExtractAction,
    HoverAction,
    InputAction,
    KeyAction,
    MemoryAction,
    NavigateAction,
    Runbook,
    ScrollAction,
    SelectAction,
    Selector,
    WaitAction,
)
from runwright_runbook.variables import interpolate

from runwright_engine.egress.guard import check_navigation
from runwright_engine.errors import ActionFailed
from runwright_engine.files import FileRecord, export_text, record, safe_name, unique_path
from runwright_engine.navigation import NavigationWatch
from runwright_engine.plugins import AiProvider
from runwright_engine.scripts import as_function
from runwright_engine.selectors import Resolution, apply_filters, candidates, resolve


@dataclass
class Outcome:
    retries: int = 0
    strategy: str | None = None
    extracted: Any = None
    files: list[FileRecord] = field(default_factory=list)


FAST_PATH_MS = 1000
MIN_ACTION_MS = 1000
FAST_PATH_MAX_MISSES = 3


@dataclass
class FastPath:
    """Act at once on the top-priority strategy's element when it is the unique match.

    Playwright's strict mode refuses an ambiguous match and its actions wait for visibility, so
    this is the documented resolution order without a separate look-up round trip. A miss (no
    unique match within ``FAST_PATH_MS`` or half the step timeout) falls back to the full
    pipeline with the time left;
    after ``FAST_PATH_MAX_MISSES`` misses the run stops trying (its selectors are stale).
    """

    misses: int = 0

    @property
    def enabled(self) -> bool:
        return self.misses < FAST_PATH_MAX_MISSES


@dataclass
class ActionContext:
    page: Page
    runbook: Runbook
    values: Mapping[str, Any]
    memory: Mapping[str, list[Any]]
    timeout_ms: int
    files_dir: Path
    ordinal: int
    ai: AiProvider | None = None
    fast: FastPath = field(default_factory=FastPath)
    max_download_bytes: int | None = None
    step_timeout_ms: int = 0
    navigations: NavigationWatch | None = None

    @property
    def navigation_mark(self) -> int:
        return self.navigations.count if self.navigations is not None else 0

    def action_timeout(self) -> int:
        """Time for the action once its element is found: what is left of the step, but at
        least a second when the step allows one (a slow resolution must not starve the act)."""
        return max(self.timeout_ms, min(MIN_ACTION_MS, self.step_timeout_ms or self.timeout_ms))

    async def locate(self, selector: Selector) -> Resolution:
        return await resolve(self.page, selector, self.timeout_ms, ai=self.ai)

    async def act_fast(self, selector: Selector, action: Action) -> Outcome | None:
        """The fast path: an Outcome when it acted, None to resolve fully (time is deducted)."""
        options = candidates(selector)
        if not self.fast.enabled or not options:
            return None
        strategy, _, factory = options[0]
        locator = apply_filters(self.page, factory(self.page), selector)
        budget = min(FAST_PATH_MS, max(1, self.timeout_ms // 2))
        started, mark = time.monotonic(), self.navigation_mark
        try:
            await _element_action(self, locator, action, budget)
        except PlaywrightTimeoutError as exc:
            if started_navigation(exc):
                await finish_navigation(self, mark, self.action_timeout())
                return Outcome(0, strategy)
            self.fast.misses += 1
        except PlaywrightError as exc:
            if "strict mode violation" not in str(exc):
                raise ActionFailed(exc) from exc
        else:
            return Outcome(0, strategy)
        self.timeout_ms = max(1, self.timeout_ms - int((time.monotonic() - started) * 1000))
        return None


def absolute_url(runbook: Runbook, url: str, values: Mapping[str, Any]) -> str:
    """``url`` resolved against ``baseUrl`` (else the start URL), both rendered with ``values``."""
    base = interpolate(runbook.settings.base_url or runbook.metadata.start_url, values)
    if base and "://" not in url and not url.startswith(("about:", "data:")):
        return urljoin(base.rstrip("/") + "/", url.lstrip("/") if base.endswith("/") else url)
    return url


def started_navigation(exc: PlaywrightError) -> bool:
    """Playwright gave up while waiting for the navigation the action started: the click (or key
    press) happened, so doing it again would act twice, on a page that has gone."""
    text = str(exc)
    return " action done" in text and "waiting for scheduled navigations" in text


async def finish_navigation(ctx: ActionContext, mark: int, timeout_ms: int) -> None:
    """Let the navigation an action started commit and load, so the next step sees the new page;
    a page slower than this is the next step's to wait for (its own look-ups wait)."""
    started = time.monotonic()
    if ctx.navigations is not None:
        await ctx.navigations.wait_past(mark, timeout_ms)
    left = max(1, timeout_ms - int((time.monotonic() - started) * 1000))
    with contextlib.suppress(PlaywrightError):
        await ctx.page.wait_for_load_state("domcontentloaded", timeout=left)


async def _act(coro: Any) -> None:
    try:
        await coro
    except Exception as exc:
        raise ActionFailed(exc) from exc


async def _act_on(ctx: ActionContext, found: Resolution, action: Action) -> Outcome:
    """The action on the element the full resolution found, with the time left for it."""
    timeout, mark = ctx.action_timeout(), ctx.navigation_mark
    try:
        await _element_action(ctx, found.locator, action, timeout)
    except PlaywrightError as exc:
        if not started_navigation(exc):
            raise ActionFailed(exc) from exc
        await finish_navigation(ctx, mark, timeout)
    except Exception as exc:
        raise ActionFailed(exc) from exc
    return Outcome(found.retries, found.strategy)


async def perform(ctx: ActionContext, action: Action) -> Outcome:
    page, timeout = ctx.page, ctx.timeout_ms
    match action:
        case NavigateAction():
            url = absolute_url(ctx.runbook, action.url, ctx.values)
            check_navigation(url)
            await page.goto(url, timeout=timeout)
            return Outcome()
        case ClickAction() | HoverAction() | InputAction() | SelectAction():
            fast = await ctx.act_fast(action.selector, action)
            if fast is not None:
                return fast
            return await _act_on(ctx, await ctx.locate(action.selector), action)
        case WaitAction():
            return await _wait(ctx, action)
        case KeyAction():
            if action.selector is not None:
                fast = await ctx.act_fast(action.selector, action)
                if fast is not None:
                    return fast
                return await _act_on(ctx, await ctx.locate(action.selector), action)
            await _act(page.keyboard.press(action.key))
            return Outcome()
        case ScrollAction():
            if action.selector is not None:
                found = await ctx.locate(action.selector)
                await _act(found.locator.scroll_into_view_if_needed(timeout=timeout))
                return Outcome(found.retries, found.strategy)
            await page.mouse.wheel(0, action.delta_y if action.delta_y is not None else 600)
            await page.evaluate("() => new Promise(requestAnimationFrame)")
            return Outcome()
        case ExtractAction():
            return Outcome(extracted=await page.evaluate(as_function(action.script)))
        case DownloadAction():
            return await _download(ctx, action)
        case ExportAction():
            return _export(ctx, action)
        case MemoryAction():
            return Outcome()
    raise ActionFailed(TypeError(f"unsupported action {action!r}"))


def _element_action(ctx: ActionContext, locator: Locator, action: Action, timeout: int) -> Any:
    match action:
        case ClickAction():
            return locator.click(timeout=timeout)
        case HoverAction():
            return locator.hover(timeout=timeout)
        case InputAction():
            return locator.fill(action.value, timeout=timeout)
        case KeyAction():
            return locator.press(action.key, timeout=timeout)
        case SelectAction():
            if action.value is not None:
                return locator.select_option(value=action.value, timeout=timeout)
            return locator.select_option(label=action.option_text or "", timeout=timeout)
    raise ActionFailed(TypeError(f"not an element action: {action!r}"))


async def _wait(ctx: ActionContext, action: WaitAction) -> Outcome:
    if action.duration is not None:
        await asyncio.sleep(action.duration / 1000)
    if action.load_state is not None:
        await ctx.page.wait_for_load_state(action.load_state, timeout=ctx.timeout_ms)
    if action.selector is not None and action.state in ("hidden", "detached"):
        options = candidates(action.selector)
        if options:
            locator = apply_filters(ctx.page, options[0][2](ctx.page), action.selector)
            await locator.first.wait_for(state=action.state, timeout=ctx.timeout_ms)
            return Outcome(strategy=options[0][0])
    if action.selector is not None:
        found = await ctx.locate(action.selector)
        await found.locator.wait_for(state=action.state, timeout=ctx.timeout_ms)
        return Outcome(found.retries, found.strategy)
    return Outcome()


async def _download(ctx: ActionContext, action: DownloadAction) -> Outcome:
    page, timeout = ctx.page, ctx.timeout_ms
    retries, strategy = 0, None
    if action.selector is not None:
        found = await ctx.locate(action.selector)
        retries, strategy = found.retries, found.strategy
        try:
            async with page.expect_download(timeout=timeout) as info:
                await found.locator.click(timeout=timeout)
            download = await info.value
        except Exception as exc:
            raise ActionFailed(exc) from exc
    else:
        download = await page.wait_for_event("download", timeout=timeout)
    suggested = download.suggested_filename
    wanted = action.download_path if action.download_path else suggested
    path = unique_path(ctx.files_dir / "downloads", safe_name(wanted, "download.bin"))
    await download.save_as(path)
    failure = await download.failure()
    if failure:
        raise ActionFailed(RuntimeError(f"download failed: {failure}"))
    limit = ctx.max_download_bytes
    if limit is not None and path.stat().st_size > limit:
        size = path.stat().st_size
        path.unlink()
        raise ActionFailed(
            RuntimeError(
                f"the download {safe_name(suggested, 'download')!r} is {size} bytes, over the "
                f"{limit // (1 << 20)} MB cap (RUNWRIGHT_MAX_DOWNLOAD_MB)"
            )
        )
    return Outcome(retries, strategy, files=[record("download", path, ctx.ordinal, suggested)])


def _export(ctx: ActionContext, action: ExportAction) -> Outcome:
    items = list(ctx.memory.get(action.export_collection, []))
    default = f"{safe_name(action.export_collection, 'export')}.{action.format}"
    name = safe_name(action.file_name, default) if action.file_name else default
    if not name.lower().endswith(f".{action.format}"):
        name = f"{name}.{action.format}"
    path = unique_path(ctx.files_dir / "exports", name)
    path.write_text(export_text(items, action.format), encoding="utf-8")
    return Outcome(files=[record("export", path, ctx.ordinal)])
