"""The web console in real Chromium against the real stack: sign in, the jobs list updating live,
status tabs, a failed step's error on the detail page, the approval dialog, cancel."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_gateway.console import fingerprint
from runwright_stack.stack import Stack
from support.console import row, sign_in
from support.runbooks import approval_runbook, example, runbook

pytestmark = pytest.mark.e2e

LOGIN_VARS = {"email": "ops@example.com", "password": "demo"}


def submit(api: httpx.Client, document: object, **extra: Any) -> str:
    response = api.post("/api/v1/jobs", json={"runbook": document, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_sign_in_live_list_failed_tab_and_a_failed_steps_error(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    await page.goto("/")
    await expect(page).to_have_url(f"{stack.gateway_url}/console/jobs")
    await page.get_by_label("Admin token").fill("wrong")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("That token is not valid.")
    await sign_in(page, stack.token)
    cookies = await page.context.cookies()
    session = next(c for c in cookies if c["name"] == "runwright_session")
    assert session["httpOnly"]
    assert session["sameSite"] == "Strict"
    assert stack.token not in page.url

    job_id = submit(api, example("login.yaml", demo_url), variables=LOGIN_VARS)
    await expect(row(page, job_id)).to_be_visible()
    await expect(row(page, job_id).locator(".badge")).to_have_text("Completed", timeout=45000)
    await expect(row(page, job_id)).to_contain_text("5/5")

    failing = runbook(
        [
            {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
            {
                "description": "Click a button that does not exist",
                "action": {"type": "click", "selector": {"tagName": "button", "id": "nope"}},
            },
        ],
        start_url=demo_url,
        timeout_ms=1500,
    )
    failed_id = submit(api, failing)
    await expect(row(page, failed_id).locator(".badge")).to_have_text("Failed", timeout=45000)

    tab = page.get_by_role("tab", name="Failed")
    await tab.click()
    await expect(tab).to_have_attribute("aria-selected", "true")
    await expect(row(page, failed_id)).to_be_visible()
    await expect(row(page, job_id)).to_have_count(0)
    rows = page.locator("tbody tr")
    statuses = await rows.evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses
    assert set(statuses) == {"failed"}
    await tab.press("ArrowLeft")
    await expect(page.get_by_role("tab", name="Completed")).to_be_focused()
    await expect(row(page, job_id)).to_be_visible()

    await page.goto(f"/console/jobs/{failed_id}")
    await expect(page.locator("#job-status-meaning")).to_have_text(
        "Finished with one or more errors"
    )
    failed_step = page.locator('.step[data-ordinal="1"]')
    await expect(failed_step.locator(".badge")).to_have_text("Failed")
    await expect(failed_step.locator(".error-kind")).to_have_text("Element not found")
    await expect(failed_step.locator(".error-hint")).to_contain_text("selector")
    failure_shot = failed_step.get_by_role("img", name="The page when step 2 failed")
    await expect(failure_shot).to_be_visible()
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await failure_shot.element_handle()
    )
    await expect(page.locator(".metric", has_text="Steps failed")).to_contain_text("1")
    await expect(page.get_by_role("link", name="Download Markdown")).to_be_visible()
    for name in ("Approve", "Reject", "Pause", "Resume", "Cancel"):
        await expect(page.get_by_role("button", name=name, exact=True)).to_be_hidden()


async def test_the_approval_dialog_opens_by_itself_and_approve_completes_the_job(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000))
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    dialog = page.locator("#approval-dialog")
    await expect(dialog).to_be_visible(timeout=45000)
    await expect(dialog).to_contain_text("Sign in as the operator")
    await expect(dialog.locator(".risk")).to_have_text("high")
    await expect(dialog).to_contain_text("login")
    await expect(dialog.locator("img.evidence")).to_be_visible()
    await dialog.get_by_role("button", name="Approve").click()
    await expect(dialog).to_be_hidden()
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=45000)
    assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed"


async def test_cancel_asks_for_confirmation_then_cancels_a_running_job(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    steps = [{"action": {"type": "wait", "duration": 30000}}]
    job_id = submit(api, runbook(steps, start_url=demo_url, timeout_ms=5000))
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    await expect(page.locator("#job-status .badge")).to_have_text("Running", timeout=45000)
    await expect(page.get_by_role("button", name="Pause")).to_be_visible()
    await expect(page.get_by_role("button", name="Approve")).to_be_hidden()
    await page.get_by_role("button", name="Cancel", exact=True).click()
    confirm = page.locator("#cancel-dialog")
    await expect(confirm).to_be_visible()
    await confirm.get_by_label("Reason (optional)").fill("not needed")
    await confirm.get_by_role("button", name="Cancel job").click()
    await expect(page.locator("#job-status .badge")).to_have_text("Cancelled")
    await expect(page.locator("#job-reason")).to_contain_text("not needed")
    assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "cancelled"


def test_the_console_assets_are_cached_by_version(stack: Stack, tmp_path: Path) -> None:
    page = httpx.get(f"{stack.gateway_url}/console/jobs")
    match = re.search(r'src="(/console/assets/[0-9a-f]{16})/app\.js"', page.text)
    assert match, page.text
    # Pages are split into modules in folders (jobs/page.js imports ./state.js): nested paths
    # are served under the same versioned prefix, and cached as long.
    for module in ("jobs/page.js", "detail/stream.js", "artifacts/csv.js"):
        script = httpx.get(f"{stack.gateway_url}{match.group(1)}/{module}")
        assert script.status_code == 200, module
        assert "javascript" in script.headers["content-type"]
        assert script.headers["cache-control"] == "max-age=31536000, immutable"
    # Any change to any asset gives the page a new asset path.
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "page.js").write_text("one")
    first = fingerprint(tmp_path)
    (tmp_path / "jobs" / "page.js").write_text("two")
    assert fingerprint(tmp_path) != first, "a change in a nested module gives a new path"
