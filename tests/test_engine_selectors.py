"""Selector resolution against the fixture app: each strategy alone, filters, priority, retry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from support.engine import run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


def click(selector: dict[str, Any]) -> dict[str, Any]:
    return {"action": {"type": "click", "selector": selector}}


def type_into(selector: dict[str, Any], value: str) -> dict[str, Any]:
    return {"action": {"type": "input", "selector": selector, "value": value}}


STRATEGIES = [
    pytest.param(
        click({"tagName": "button", "ariaLabel": "Close dialog"}),
        "clicked: close-dialog",
        "ariaLabel",
        id="ariaLabel",
    ),
    pytest.param(
        type_into({"tagName": "input", "labelText": "Customer name"}, "Ada"),
        "input: customer-name=Ada",
        "labelText",
        id="labelText-for",
    ),
    pytest.param(
        type_into({"labelText": "Quantity"}, "3"),
        "input: quantity=3",
        "labelText",
        id="labelText-wrapping",
    ),
    pytest.param(
        click({"tagName": "button", "dataTestId": "save-button"}),
        "clicked: save-button",
        "dataTestId",
        id="dataTestId",
    ),
    pytest.param(
        click({"tagName": "div", "dataAttributes": {"action": "archive", "row": "7"}}),
        "clicked: archive-row-7",
        "dataAttributes",
        id="dataAttributes",
    ),
    pytest.param(
        click({"dataAttributes": {"data-action": "archive", "data-row": "7"}}),
        "clicked: archive-row-7",
        "dataAttributes",
        id="dataAttributes-prefixed",
    ),
    pytest.param(
        click({"tagName": "li", "xPath": '//ul[@class="plain"]/li[2]'}),
        "clicked: plain-item-2",
        "xPath",
        id="xPath",
    ),
    pytest.param(
        click({"tagName": "button", "cssSelector": ".toolbar > .primary"}),
        "clicked: toolbar-primary",
        "cssSelector",
        id="cssSelector",
    ),
    pytest.param(
        click({"tagName": "button", "innerText": "Add user"}),
        "clicked: add-user",
        "innerText",
        id="innerText-textContent",
    ),
    pytest.param(
        click({"tagName": "button", "innerText": "ADD USER"}),
        "clicked: add-user",
        "innerText (case-insensitive)",
        id="innerText-rendered",
    ),
    pytest.param(
        click({"tagName": "input", "innerText": "Send report"}),
        "clicked: send-report",
        "innerText",
        id="innerText-submit-value",
    ),
    pytest.param(
        type_into({"tagName": "input", "placeholder": "Search orders"}, "42"),
        "input: search-orders=42",
        "placeholder",
        id="placeholder",
    ),
    pytest.param(
        type_into({"tagName": "input", "name": "coupon"}, "SAVE10"),
        "input: coupon=SAVE10",
        "name",
        id="name",
    ),
    pytest.param(
        click({"tagName": "div", "rect": {"x": 600, "y": 400, "width": 120, "height": 40}}),
        "clicked: rect-target at 660,420",
        "rect",
        id="rect",
    ),
    pytest.param(
        click({"tagName": "button", "innerText": "Delete"}),
        "clicked: delete-visible",
        "innerText",
        id="unique-visible-wins",
    ),
    pytest.param(
        type_into({"name": "contact", "inputType": "email"}, "a@b.c"),
        "input: contact-email=a@b.c",
        "name",
        id="inputType-filter",
    ),
    pytest.param(
        click({"innerText": "Notifications", "role": "switch"}),
        "clicked: notifications-switch",
        "innerText",
        id="role-filter",
    ),
    pytest.param(
        click({"tagName": "button", "innerText": "Export"}),
        "clicked: export-button",
        "innerText",
        id="tagName-filter",
    ),
]


@pytest.mark.parametrize(("step", "logged", "strategy"), STRATEGIES)
async def test_each_selector_strategy_alone_finds_its_element(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
    step: dict[str, Any],
    logged: str,
    strategy: str,
) -> None:
    run = await run_steps(browser, f"{fixture_url}/selectors", [step], tmp_path)
    assert run.step(0).status == "success", run.step(0).error
    assert run.step(0).strategy == strategy
    assert logged in await run.log()


async def test_strategies_are_tried_in_the_documented_priority_order(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    selector = {"innerText": "Add user", "dataTestId": "save-button", "name": "missing"}
    run = await run_steps(browser, f"{fixture_url}/selectors", [click(selector)], tmp_path)
    assert run.step(0).strategy == "dataTestId"
    assert await run.log() == ["clicked: save-button"]


async def test_a_strategy_that_matches_nothing_falls_through_to_the_next(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    selector = {"id": "renamed-button", "ariaLabel": "Close dialog"}
    run = await run_steps(browser, f"{fixture_url}/selectors", [click(selector)], tmp_path)
    assert run.step(0).strategy == "ariaLabel"
    assert run.step(0).retries == 0


async def test_an_element_that_appears_late_is_found_by_smart_retry(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    run = await run_steps(
        browser,
        f"{fixture_url}/delayed",
        [click({"id": "late"}), click({"id": "spinner-done"})],
        tmp_path,
    )
    assert [s.status for s in run.steps] == ["success", "success"]
    assert run.step(0).retries >= 1
    assert run.outcome.results[1].retries == 0
    assert await run.log() == ["clicked: late", "clicked: spinner-done"]


async def test_an_element_below_the_fold_is_clicked(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    run = await run_steps(
        browser, f"{fixture_url}/long", [click({"id": "bottom-button"})], tmp_path
    )
    assert run.step(0).status == "success"
    assert "clicked: bottom-button" in await run.log()


async def test_lazy_content_is_found_by_scroll_recovery(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    run = await run_steps(
        browser, f"{fixture_url}/long", [click({"id": "lazy-item"})], tmp_path, timeout_ms=1500
    )
    assert run.step(0).status == "success", run.step(0).error
    assert run.step(0).strategy == "id (after scrolling)"
    assert "clicked: lazy-item" in await run.log()


async def test_an_element_replaced_while_the_runbook_waits_is_still_clicked(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [{"action": {"type": "wait", "duration": 700}}, click({"id": "target-after-replace"})]
    run = await run_steps(browser, f"{fixture_url}/replaced", steps, tmp_path)
    assert run.step(1).status == "success"
    assert await run.page.evaluate("window.targetReplaced") is True
    assert "clicked: target-after-replace" in await run.log()
