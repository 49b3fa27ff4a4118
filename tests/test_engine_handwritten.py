"""A hand-written runbook without ``metadata`` or ``settings`` runs end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser
from runwright_runbook import parse_runbook
from support.engine import run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_runbook_without_metadata_starts_at_its_first_steps_url_and_runs(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    document = {
        "title": "Rename the user",
        "steps": [
            {
                "ordinal": 0,
                "description": "Type the new nickname",
                "url": f"{fixture_url}/forms",
                "action": {"type": "input", "selector": {"id": "nickname"}, "value": "{{nick}}"},
            },
            {
                "ordinal": 1,
                "description": "Read back {{nick}}",
                "action": {
                    "type": "extract",
                    "script": "document.querySelector('#nickname').value",
                },
                "captures": [
                    {"name": "typed", "strategy": "expression", "expression": "{{__extracted}}"}
                ],
            },
        ],
    }
    assert parse_runbook(document).metadata.start_url == f"{fixture_url}/forms"
    run = await run_steps(browser, "", [], tmp_path, document=document, variables={"nick": "zed"})
    assert run.outcome.status == "completed", [s.error for s in run.steps]
    assert run.step(1).captured == {"typed": "zed"}
    assert run.step(1).description == "Read back zed"
    assert run.page.url == f"{fixture_url}/forms"


async def test_a_start_url_and_base_url_with_placeholders_are_rendered(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    document = {
        "title": "Where {{site}} is",
        "settings": {"baseUrl": "{{site}}", "pauseBetweenSteps": 0},
        "steps": [
            {
                "ordinal": 0,
                "url": "{{site}}/static",
                "action": {"type": "extract", "script": "location.pathname"},
                "captures": [
                    {"name": "opened", "strategy": "expression", "expression": "{{__extracted}}"}
                ],
            },
            {"ordinal": 1, "action": {"type": "navigate", "url": "/navigate-target?x=1"}},
        ],
    }
    run = await run_steps(
        browser, "", [], tmp_path, document=document, variables={"site": fixture_url}
    )
    assert run.outcome.status == "completed", [s.error for s in run.steps]
    assert run.step(0).captured == {"opened": "/static"}
    assert run.page.url == f"{fixture_url}/navigate-target?x=1"
