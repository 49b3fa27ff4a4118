"""An approval a person can trust: the request names what it will do with the values captured so
far (not a `{{placeholder}}`), its evidence screenshot is there when the dialog opens, and the steps
before it are shown finished (real Chromium, the real stack, the demo app)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_cli.stack import Stack
from support.console import sign_in
from support.runbooks import runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e

TEMPLATE = "Confirm the deletion of {{to_delete}} accounts"


def deletion_runbook() -> list[dict[str, Any]]:
    return [
        {
            "description": "Count the accounts to delete",
            "action": {"type": "extract", "script": "2 + 2"},
            "captures": [
                {"name": "to_delete", "strategy": "expression", "expression": "{{__extracted}}"}
            ],
        },
        {"description": "Open the sign-in page", "action": {"type": "navigate", "url": "/login"}},
        {
            "description": TEMPLATE,
            "riskLevel": "high",
            "requiresConfirmation": True,
            "action": {"type": "wait", "duration": 1},
        },
    ]


async def test_the_approval_dialog_opens_rendered_with_its_evidence_and_earlier_steps_done(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    document = runbook(deletion_runbook(), start_url=demo_url, timeout_ms=5000)
    response = api.post("/api/v1/jobs", json={"runbook": document})
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    pending = api.get(f"/api/v1/jobs/{job_id}").json()["steps"][2]
    assert pending["description"] == TEMPLATE, "a step that has not started shows its template"
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    dialog = page.locator("#approval-dialog")
    await expect(dialog).to_be_visible(timeout=45000)
    await expect(dialog).to_contain_text("Confirm the deletion of 4 accounts")
    evidence = dialog.locator("img.evidence")
    await expect(evidence).to_be_visible()
    await page.wait_for_function(
        "() => { const i = document.querySelector('#approval-dialog img.evidence');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=10000,
    )
    timeline = page.locator(".step-title")
    await expect(timeline.nth(0)).to_contain_text("Count the accounts to delete")
    for ordinal in ("0", "1"):
        step = page.locator(f'li.step[data-ordinal="{ordinal}"]')
        await expect(step).to_have_attribute("data-status", "success")
    await dialog.get_by_role("button", name="Approve").click()
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=45000)

    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["steps"][2]["description"] == "Confirm the deletion of 4 accounts"
    report = api.get(f"/api/v1/jobs/{job_id}/report.md").text
    assert "Confirm the deletion of 4 accounts" in report
    assert "{{to_delete}}" not in report
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    approvals = [e.data for e in events if e.event == "approval"]
    assert approvals[0]["description"] == "Confirm the deletion of 4 accounts"
    assert approvals[0]["screenshot_artifact_id"]
