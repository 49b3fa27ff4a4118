"""What a spare browser context costs: the browser's memory (PSS of its whole process tree) with
0, 1, 2, 4 and 8 spare contexts ready (each with its blank page), behind the egress proxy as the
executor makes them. Baseline, in the same run and browser: as many plain Playwright contexts
with a page each."""

from __future__ import annotations

import asyncio
import os

import psutil
from playwright.async_api import Browser, async_playwright
from runwright_engine.browser import launch
from runwright_engine.egress.contexts import Spares
from runwright_engine.egress.policy import EgressPolicy
from runwright_engine.egress.proxy import EgressProxy

from tests.bench.stats import table

COUNTS = (1, 2, 4, 8)
OPTIONS = {"viewport": {"width": 1280, "height": 720}, "accept_downloads": True}


def tree_pss_mb() -> float:
    """PSS of every process below this one (the Playwright driver and Chromium), in MB."""
    total = 0
    for child in psutil.Process(os.getpid()).children(recursive=True):
        try:
            total += child.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / (1 << 20)


async def settled() -> float:
    await asyncio.sleep(1.0)
    return tree_pss_mb()


async def spares_cost(browser: Browser, proxy: EgressProxy, count: int) -> float:
    spares = Spares(browser, proxy, count, **OPTIONS)
    spares.fill()
    await spares.warmed(30)
    try:
        return await settled()
    finally:
        await spares.close()


async def plain_cost(browser: Browser, count: int) -> float:
    contexts = [await browser.new_context(**OPTIONS) for _ in range(count)]  # type: ignore[arg-type]
    for context in contexts:
        await context.new_page()
    try:
        return await settled()
    finally:
        for context in contexts:
            await context.close()


async def measure() -> str:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        proxy = await EgressProxy(EgressPolicy.parse("")).start()
        try:
            idle = await settled()
            rows = []
            for count in COUNTS:
                ours = await spares_cost(browser, proxy, count)
                plain = await plain_cost(browser, count)
                rows.append(
                    (
                        str(count),
                        f"{(ours - idle) / count:.1f}",
                        f"{(plain - idle) / count:.1f}",
                        f"{(ours - idle) / max(plain - idle, 0.1):.2f}",
                        f"{ours:.0f}",
                    )
                )
        finally:
            await proxy.close()
            await browser.close()
    return table(
        f"memory per spare context (PSS, MB; browser idle with none: {idle:.0f} MB)",
        rows,
        ("spares", "Runwright MB each", "plain Playwright MB each", "ratio", "browser total MB"),
    )


def run() -> str:
    return asyncio.run(measure())
