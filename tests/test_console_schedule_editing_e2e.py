"""Schedules made, changed and deleted in the console, in real Chromium: the cron line in words,
the next fire times in the schedule's zone and the viewer's, the stored runbook it follows or is
pinned to, a bad cron line named by field, and Delete after a check."""

from __future__ import annotations

import uuid

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_stack.stack import Stack
from support.console import sign_in
from support.runbooks import runbook

pytestmark = pytest.mark.e2e


async def test_a_schedule_is_made_changed_and_deleted_from_the_console(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    slug = f"nightly-{uuid.uuid4().hex[:6]}"
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    document["title"] = "Nightly export"
    made = api.post("/api/v1/runbooks", json={"slug": slug, "runbook": document, "publish": True})
    assert made.status_code == 201, made.text
    name = f"Export {uuid.uuid4().hex[:6]}"

    await sign_in(page, stack.token, "/console/schedules")
    await page.get_by_role("button", name="New schedule").click()
    form = page.get_by_role("form", name="New schedule")
    await form.get_by_label("Name (optional)").fill(name)
    await form.get_by_label("Cron line").fill("61 6 * * 1-5")
    await form.get_by_label("Time zone (IANA)").fill("America/New_York")
    await form.get_by_label("Runbook").select_option(slug)
    await form.get_by_role("button", name="Create schedule").click()
    await expect(form.get_by_role("alert")).to_contain_text("cron")
    await form.get_by_label("Cron line").fill("0 6 * * 1-5")
    await form.get_by_role("button", name="Create schedule").click()

    card = page.locator("li.schedule", has=page.get_by_role("heading", name=name))
    await expect(card.locator(".cron-words")).to_have_text(
        "At 06:00, Monday through Friday (America/New_York)"
    )
    await expect(card.locator(".schedule-runbook")).to_contain_text("the published version")
    # The page's clock is Berlin's: each fire time is shown in the viewer's zone too.
    await expect(card.locator(".viewer-time").first).to_contain_text("your time")

    await card.get_by_role("button", name=f"Edit {name}").click()
    edit = page.get_by_role("form", name=f"Edit {name}")
    await edit.get_by_label("Cron line").fill("30 7 * * *")
    await edit.get_by_label("Version (empty: the published one when it fires)").fill("1")
    await edit.get_by_role("button", name="Save changes").click()
    card = page.locator("li.schedule", has=page.get_by_role("heading", name=name))
    await expect(card.locator(".cron-words")).to_contain_text("At 07:30")
    await expect(card.locator(".schedule-runbook")).to_contain_text("pinned to version 1")
    schedule_id = await card.get_attribute("data-schedule-id")
    saved = api.get(f"/api/v1/schedules/{schedule_id}").json()
    assert (saved["cron"], saved["runbook_ref"]) == ("30 7 * * *", f"{slug}@1")

    await card.get_by_role("button", name=f"Delete {name}").click()
    await (
        page.locator("#delete-schedule-dialog")
        .get_by_role("button", name="Delete schedule")
        .click()
    )
    await expect(card).to_have_count(0)
    assert api.get(f"/api/v1/schedules/{schedule_id}").status_code == 404
