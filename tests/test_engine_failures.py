"""Each failure class is provoked and carries its hint and the evidence to fix the runbook."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Locator, Page
from runwright_engine.errors import HINTS
from runwright_runbook.model import Capture, Selector
from support.engine import run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


def act(action: dict[str, Any]) -> dict[str, Any]:
    return {"action": action}


CASES = [
    pytest.param(
        "/forms",
        act({"type": "input", "selector": {"id": "not-editable"}, "value": "x"}),
        "Action failed",
        id="action-failed",
    ),
    pytest.param(
        "/replaced",
        act({"type": "click", "selector": {"id": "flicker"}}),
        "Element stale",
        id="element-stale",
    ),
    pytest.param(
        "/mutating",
        act({"type": "click", "selector": {"id": "ghost"}}),
        "Page structure changed",
        id="page-structure-changed",
    ),
    pytest.param(
        "/static",
        act({"type": "click", "selector": {"id": "ghost"}}),
        "Element not found",
        id="element-not-found",
    ),
    pytest.param(
        "/static",
        act({"type": "navigate", "url": "/slow?ms=4000"}),
        "Navigation timeout",
        id="navigation-timeout",
    ),
    pytest.param(
        "/static",
        act({"type": "extract", "script": "throw new Error('bad script')"}),
        "Unknown",
        id="unknown",
    ),
]


async def test_an_element_replaced_now_and_then_is_clicked_not_reported_stale(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act({"type": "wait", "duration": 400}),
        act({"type": "click", "selector": {"id": "unstable"}}),
    ]
    run = await run_steps(browser, f"{fixture_url}/replaced", steps, tmp_path)
    assert run.step(1).status == "success"
    assert await run.page.evaluate("window.unstableReplacements") >= 1


@pytest.mark.parametrize(("page", "step", "kind"), CASES)
async def test_each_error_class_is_provoked_with_its_hint(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
    page: str,
    step: dict[str, Any],
    kind: str,
) -> None:
    run = await run_steps(browser, f"{fixture_url}{page}", [step], tmp_path, timeout_ms=1200)
    result = run.step(0)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.kind == kind, result.error.message
    assert result.error.hint == HINTS[kind]
    assert result.error.diagnostics["url"].startswith(fixture_url)


async def test_a_failed_step_carries_url_title_selectors_console_screenshot_and_dom(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    step = act(
        {"type": "click", "selector": {"id": "ghost", "innerText": "Phantom", "tagName": "button"}}
    )
    run = await run_steps(
        browser, f"{fixture_url}/console-error", [step], tmp_path, timeout_ms=2500
    )
    error = run.step(0).error
    assert error is not None
    diagnostics = error.diagnostics
    assert diagnostics["url"] == f"{fixture_url}/console-error"
    assert diagnostics["title"].startswith("Fixture: ")
    tried = [(t["strategy"], t["matches"]) for t in diagnostics["selectors_tried"]]
    assert ("id", 0) in tried
    assert ("innerText", 0) in tried
    assert any("boom from fixture" in line for line in diagnostics["console_errors"])
    assert any("uncaught error from fixture" in line for line in diagnostics["console_errors"])
    assert "<body" in diagnostics["dom_excerpt"]
    screenshot = tmp_path / "screenshots" / diagnostics["screenshot"]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [f.kind for f in run.step(0).files] == ["screenshot"]
    assert run.step(0).retries >= 1


async def test_secrets_are_masked_in_error_messages_and_captures(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        {
            "action": {"type": "extract", "script": "'token=' + '{{token}}'"},
            "captures": [
                {"name": "seen", "strategy": "expression", "expression": "{{__extracted}}"}
            ],
        },
        act({"type": "extract", "script": "throw new Error('{{token}} leaked')"}),
    ]
    run = await run_steps(
        browser, f"{fixture_url}/static", steps, tmp_path, secrets={"token": "s3cr3t-value"}
    )
    assert "s3cr3t-value" not in str(run.step(0).captured)
    assert "s3cr3t-value" not in (run.step(1).error.message if run.step(1).error else "")


class FakeProvider:
    """A stand-in for a third-party AI provider (the plug-in point is what is under test)."""

    name = "fake"

    async def resolve_selector(
        self, page: Page, selector: Selector, description: str
    ) -> Locator | None:
        return page.get_by_test_id("save-button") if selector.aria_label == "Save it" else None

    async def capture(self, page: Page, capture: Capture, values: Mapping[str, Any]) -> Any:
        return f"answer to {capture.prompt}"

    async def context_variable(self, context: str, name: str, description: str) -> Any:
        return context.upper()


async def test_ai_stages_are_a_plug_in_that_runs_only_when_configured(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        {
            "action": {"type": "click", "selector": {"ariaLabel": "Save it"}},
            "captures": [{"name": "a", "strategy": "ai", "prompt": "the title"}],
        }
    ]
    with_ai = await run_steps(
        browser, f"{fixture_url}/selectors", steps, tmp_path, ai=FakeProvider(), timeout_ms=3000
    )
    assert with_ai.step(0).strategy == "ai (fake)"
    assert with_ai.step(0).captured == {"a": "answer to the title"}
    without = await run_steps(
        browser, f"{fixture_url}/selectors", steps, tmp_path / "b", timeout_ms=3000
    )
    assert without.step(0).status == "failed"
