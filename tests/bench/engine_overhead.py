"""Engine overhead: a 20-step runbook through the engine beside the same 20 actions written as a
plain Playwright script, in the same run, same browser, ``pauseBetweenSteps: 0``."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, async_playwright
from runwright_engine.browser import launch
from runwright_engine.engine import Engine
from runwright_runbook import parse_runbook

from tests.bench.stats import table

ROUNDS = 25


def steps() -> list[dict[str, Any]]:
    def click(selector: dict[str, Any]) -> dict[str, Any]:
        return {"type": "click", "selector": selector}

    def fill(selector: dict[str, Any], value: str) -> dict[str, Any]:
        return {"type": "input", "selector": selector, "value": value}

    actions = [
        click({"tagName": "button", "ariaLabel": "Close dialog"}),
        fill({"tagName": "input", "labelText": "Customer name"}, "Ada"),
        click({"tagName": "button", "dataTestId": "save-button"}),
        click({"dataAttributes": {"action": "archive", "row": "7"}}),
        click({"xPath": '//ul[@class="plain"]/li[2]'}),
        click({"cssSelector": ".toolbar > .primary"}),
        click({"tagName": "button", "innerText": "Add user"}),
        fill({"placeholder": "Search orders"}, "42"),
        fill({"name": "coupon"}, "SAVE10"),
        click({"tagName": "button", "innerText": "Delete"}),
        {"type": "navigate", "url": "/forms"},
        {"type": "select", "selector": {"id": "country"}, "value": "fr"},
        {"type": "select", "selector": {"id": "country"}, "optionText": "Japan"},
        fill({"id": "nickname"}, "new"),
        {"type": "hover", "selector": {"id": "hover-target"}},
        {"type": "key", "key": "Control+K"},
        fill({"id": "enter-input"}, "hello"),
        {"type": "key", "key": "Enter", "selector": {"id": "enter-input"}},
        {"type": "extract", "script": "document.title"},
        {"type": "navigate", "url": "/selectors"},
    ]
    return [{"ordinal": i, "description": f"step {i}", "action": a} for i, a in enumerate(actions)]


async def plain_script(page: Page, base: str) -> None:
    """The same 20 actions, written by hand with Playwright's own locators."""
    await page.goto(f"{base}/selectors")
    await page.get_by_label("Close dialog").click()
    await page.get_by_label("Customer name").fill("Ada")
    await page.get_by_test_id("save-button").click()
    await page.locator('[data-action="archive"][data-row="7"]').click()
    await page.locator('xpath=//ul[@class="plain"]/li[2]').click()
    await page.locator(".toolbar > .primary").click()
    await page.get_by_role("button", name="Add user").click()
    await page.get_by_placeholder("Search orders").fill("42")
    await page.locator('[name="coupon"]').fill("SAVE10")
    await page.locator("button:visible", has_text="Delete").click()
    await page.goto(f"{base}/forms")
    await page.locator("#country").select_option(value="fr")
    await page.locator("#country").select_option(label="Japan")
    await page.locator("#nickname").fill("new")
    await page.locator("#hover-target").hover()
    await page.keyboard.press("Control+K")
    await page.locator("#enter-input").fill("hello")
    await page.locator("#enter-input").press("Enter")
    await page.evaluate("() => document.title")
    await page.goto(f"{base}/selectors")


async def timed_plain(browser: Browser, base: str) -> float:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    started = time.perf_counter()
    page = await context.new_page()
    await plain_script(page, base)
    elapsed = time.perf_counter() - started
    await context.close()
    return elapsed


def document(base: str) -> dict[str, Any]:
    """The benchmark's runbook on the fixture app at ``base``."""
    return {
        "title": "bench",
        "steps": steps(),
        "settings": {"baseUrl": base, "defaultTimeout": 10000, "pauseBetweenSteps": 0},
        "metadata": {
            "startUrl": f"{base}/selectors",
            "goal": "bench",
            "goalAchieved": True,
            "totalSteps": 20,
            "generatedAt": "2026-01-01T00:00:00Z",
        },
    }


async def timed_engine(browser: Browser, base: str, files: Path) -> float:
    runbook = parse_runbook(document(base))
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    started = time.perf_counter()
    outcome = await Engine(context, runbook, files_dir=files).run()
    elapsed = time.perf_counter() - started
    await context.close()
    failed = [r for r in outcome.results if r.status != "success"]
    assert not failed, failed[0].error
    return elapsed


async def measure(base: str) -> tuple[list[float], list[float]]:
    plain, engine = [], []
    with tempfile.TemporaryDirectory() as files:
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            await timed_plain(browser, base)  # warm-up, both paths
            await timed_engine(browser, base, Path(files))
            for index in range(ROUNDS):  # paired rounds, alternating which goes first
                if index % 2:
                    engine.append(await timed_engine(browser, base, Path(files)))
                    plain.append(await timed_plain(browser, base))
                else:
                    plain.append(await timed_plain(browser, base))
                    engine.append(await timed_engine(browser, base, Path(files)))
            await browser.close()
    return plain, engine


def run_with(base: str) -> str:
    plain, engine = asyncio.run(measure(base))
    p, e = statistics.median(plain) * 1000, statistics.median(engine) * 1000
    rows = [
        ("plain Playwright script", f"{ROUNDS}", f"{p:.0f}", f"{min(plain) * 1000:.0f}"),
        ("Runwright engine", f"{ROUNDS}", f"{e:.0f}", f"{min(engine) * 1000:.0f}"),
        ("ratio (engine / plain)", "", f"{e / p:.3f}", f"{min(engine) / min(plain):.3f}"),
    ]
    return table(
        "20-step runbook, pauseBetweenSteps 0 (ms; target ratio <= 1.05)",
        rows,
        ("measure", "runs", "median", "best"),
    )
