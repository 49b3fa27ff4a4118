"""The Runbooks pages in real Chromium against the real stack: the list with each runbook's last
runs, a runbook's versions, their changes, publish and roll back, a new draft from the page, Run
from a form built from its variables, and the job page's runbook link, Re-run and comparison."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_stack.stack import Stack
from support.console import editor_text, set_editor, sign_in
from support.runbooks import runbook

pytestmark = pytest.mark.e2e


def document(demo_url: str, *extra: dict[str, object]) -> dict[str, object]:
    made = runbook(
        [
            {"description": "Open {{page}}", "action": {"type": "navigate", "url": "/{{page}}"}},
            *extra,
        ],
        start_url=demo_url,
        variables={"page": {"source": "prompt", "description": "The page to open"}},
    )
    made["title"] = "Open a page"
    return made


async def test_a_runbook_is_published_run_from_its_page_rerun_and_compared(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    slug = f"open-{uuid.uuid4().hex[:6]}"
    made = api.post(
        "/api/v1/runbooks", json={"slug": slug, "runbook": document(demo_url), "publish": True}
    )
    assert made.status_code == 201, made.text
    later = document(demo_url, {"action": {"type": "wait", "duration": 200}})
    assert (
        api.post(
            f"/api/v1/runbooks/{slug}/versions", json={"runbook": later, "message": "wait"}
        ).status_code
        == 201
    )

    await sign_in(page, stack.token, "/console/runbooks")
    row = page.locator(f'tr[data-slug="{slug}"]')
    await expect(row).to_contain_text("v1")
    await expect(row).to_contain_text("No runs yet")
    await row.get_by_role("link", name="Open a page").click()
    await expect(page.get_by_role("heading", name="Open a page", level=1)).to_be_visible()
    draft = page.locator('tr[data-version="2"]')
    await expect(draft).to_contain_text("Draft")
    await draft.get_by_role("button", name="Changes in version 2").click()
    await expect(page.locator("pre.diff")).to_contain_text("+      duration: 200")
    await expect(page.get_by_text("Steps changed: 2.")).to_be_visible()

    # Run from the page: the form asks for the declared variable.
    await page.get_by_label("page").fill("login")
    await page.get_by_role("button", name="Run version 1").click()
    await expect(page).to_have_url(re.compile(r"/console/jobs/[0-9a-f-]{36}$"))
    first = page.url.rsplit("/", 1)[1]
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=60000)
    await expect(page.locator("#job-runbook")).to_have_text(f"Runbook: {slug}, version 1")
    facts = page.locator("#job-facts")
    await expect(facts.locator('[data-variable="page"]')).to_have_text("page=login")
    await expect(facts.locator("time").first).to_have_attribute("datetime", re.compile("T"))

    await expect(page.locator("#job-id")).to_have_text(first)
    await page.get_by_role("button", name="Re-run").click()
    await expect(page).not_to_have_url(re.compile(first))
    await expect(page.locator("#job-id")).to_have_text(page.url.rsplit("/", 1)[1])
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=60000)
    await page.get_by_role("button", name="Compare with the previous run").click()
    comparison = page.locator("#comparison")
    await expect(comparison.get_by_role("link", name="the previous run")).to_have_attribute(
        "href", f"/console/jobs/{first}"
    )
    await expect(comparison.locator("tbody tr")).to_have_count(1)

    # Back on the runbook: publish version 2, then roll back to version 1.
    await page.get_by_role("link", name=slug).click()
    await expect(page.locator("#runbook-runs a")).to_have_count(2)
    await page.get_by_role("button", name="Publish version 2").click()
    await expect(page.locator('tr[data-version="2"]')).to_have_attribute("data-published", "true")
    await page.get_by_role("button", name="Roll back to version 1").click()
    await expect(page.locator('tr[data-version="1"]')).to_have_attribute("data-published", "true")
    assert api.get(f"/api/v1/runbooks/{slug}").json()["published_version"] == 1

    # A new draft from the page: a broken one is refused naming the field, a good one is v3.
    text = await editor_text(page, "draft-text")
    await set_editor(page, "draft-text", text.replace("type: navigate", "type: teleport"))
    await expect(page.locator("#draft-errors li").first).to_contain_text("steps[0].action")
    await page.get_by_role("button", name="Save as a new draft").click()
    await expect(page.locator("#draft-error")).to_contain_text("runbook.steps[0].action")
    await set_editor(page, "draft-text", text.replace("Open {{page}}", "Go to {{page}}"))
    await page.get_by_label("What changed (optional)").fill("reworded")
    await page.get_by_role("button", name="Save as a new draft").click()
    await expect(page.locator('tr[data-version="3"]')).to_contain_text("reworded")

    await page.get_by_role("link", name="← All runbooks").click()
    await expect(page.locator(f'tr[data-slug="{slug}"] .runbook-success')).to_have_text("100 %")

    # An Admin asks that only Admins publish; the setting holds for the workspace.
    await page.get_by_label("Publishing a version needs an Admin").check()
    await expect(page.get_by_text("Only Admins publish now.")).to_be_visible()
    assert api.get("/api/v1/workspaces/current").json()["publish_approval"] is True
    await page.get_by_label("Publishing a version needs an Admin").uncheck()
    await expect(page.get_by_text("Developers publish again.")).to_be_visible()


async def test_a_runbook_page_lists_its_schedules_and_runs_a_batch_from_a_csv_file(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str, tmp_path: Path
) -> None:
    slug = f"rows-{uuid.uuid4().hex[:6]}"
    made = document(demo_url)
    made["dataSource"] = {"mapping": {"page": "Page"}}
    made["variables"] = {"page": {"source": "data"}}
    assert (
        api.post(
            "/api/v1/runbooks", json={"slug": slug, "runbook": made, "publish": True}
        ).status_code
        == 201
    )
    schedule = api.post(
        "/api/v1/schedules",
        json={"cron": "0 5 * * *", "runbook_ref": slug, "paused": True, "name": f"Rows {slug}"},
    )
    assert schedule.status_code == 201, schedule.text
    rows = tmp_path / "rows.csv"
    rows.write_text("Page\nlogin\nlogin\n")

    await sign_in(page, stack.token, f"/console/runbooks/{slug}")
    await expect(page.locator("#runbook-schedules")).to_contain_text(f"Rows {slug}")
    await expect(page.locator("#runbook-schedules")).to_contain_text(
        "follows the published version"
    )
    await page.get_by_label("Batch data (optional)").set_input_files(rows)
    await page.get_by_role("button", name="Run version 1").click()
    await expect(page).to_have_url(re.compile(r"/console/jobs\?batch="))
    await expect(page.locator("tr[data-job-id]")).to_have_count(2)
    api.delete(f"/api/v1/schedules/{schedule.json()['id']}")
