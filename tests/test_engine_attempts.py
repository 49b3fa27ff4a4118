"""A failed step says its error once; the attempts behind it are listed in its diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser
from support.engine import run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_selector_retried_several_times_is_named_once_and_each_pass_is_an_attempt(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    step = {"action": {"type": "click", "selector": {"id": "ghost", "innerText": "Phantom"}}}
    run = await run_steps(browser, f"{fixture_url}/static", [step], tmp_path, timeout_ms=2500)
    error = run.step(0).error
    assert error is not None
    assert error.kind == "Element not found"
    assert error.message.count("id='ghost'") == 1, error.message
    assert error.message.count("innerText='Phantom'") == 1
    attempts = error.diagnostics["attempts"]
    assert len(attempts) >= 3
    assert [a["number"] for a in attempts] == list(range(1, len(attempts) + 1))
    assert all(a["result"] == "nothing matched" for a in attempts)
    assert all(a["tried"].startswith("id='ghost'→0, innerText='Phantom'→0") for a in attempts)
    assert f"in {len(attempts)} attempts" in error.message
    tried = error.diagnostics["selectors_tried"]
    assert {t["attempt"] for t in tried} == {a["number"] for a in attempts}


async def test_an_action_playwright_retried_says_why_once_and_lists_its_tries(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    step = {"action": {"type": "click", "selector": {"id": "tooltip"}}}
    run = await run_steps(browser, f"{fixture_url}/forms", [step], tmp_path, timeout_ms=2500)
    error = run.step(0).error
    assert error is not None
    assert error.kind == "Action failed"
    assert error.message.count("element is not visible") == 1, error.message
    assert "retrying" not in error.message
    attempts = error.diagnostics["attempts"]
    assert len(attempts) >= 2, attempts
    assert {a["tried"] for a in attempts} == {"click action"}
    assert attempts[0]["result"] == "element is not visible"
    assert {a["result"] for a in attempts} <= {"element is not visible", "timed out"}


async def test_a_failure_without_retries_is_one_attempt(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    step = {"action": {"type": "navigate", "url": "http://127.0.0.1:6000/"}}
    run = await run_steps(browser, f"{fixture_url}/static", [step], tmp_path, timeout_ms=2000)
    error = run.step(0).error
    assert error is not None
    assert error.diagnostics["attempts"] == [
        {"number": 1, "tried": "navigate to http://127.0.0.1:6000/", "result": error.message}
    ]
