"""Starting work from the console, in real Chromium against the real stack: the New job form
(checked as you type, variables asked for, uploaded from a file, submitted) and the Schedules page
(listed with their next fire times, paused and unpaused, a conflicting change reloaded)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from playwright.async_api import Page, Request, Route, expect
from runwright_scheduler.firing import Firing
from runwright_stack.stack import Stack
from support.console import sign_in
from support.runbooks import example, runbook

pytestmark = pytest.mark.e2e

LOGIN_VARS = {"email": "ops@example.com", "password": "demo"}
JOB_PAGE = re.compile(r"/console/jobs/([0-9a-f-]{36})$")


def is_job_submission(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/api/v1/jobs")


async def no_horizontal_scroll(page: Page) -> bool:
    width: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width <= 0


async def test_new_job_checks_the_runbook_as_you_type_asks_for_its_variables_and_runs_it(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    text = example("login.yaml", demo_url)
    broken = yaml.safe_load(text)
    del broken["steps"][3]["action"]["selector"]

    await sign_in(page, stack.token, "/console/new")
    await expect(page.get_by_role("heading", name="New job", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="New job")).to_have_attribute("aria-current", "page")
    await expect(nav.get_by_role("link", name="Jobs")).not_to_have_attribute("aria-current", "page")

    box = page.get_by_label("Runbook YAML")
    errors = page.locator("#nj-runbook-errors")
    await box.fill(yaml.safe_dump(broken, sort_keys=False))
    await expect(errors).to_contain_text("steps[3].action.selector")
    await expect(errors).to_contain_text("missing required field `selector`")
    await expect(box).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_label("email")).to_have_count(0)

    await box.fill(text)
    await expect(page.locator("#nj-runbook-status")).to_contain_text(
        "Valid: “Sign in to Acme Back Office”, 5 steps."
    )
    await expect(errors).to_have_text("")
    await expect(box).to_have_attribute("aria-invalid", "false")
    email, password = page.get_by_label("email"), page.get_by_label("password")
    await expect(email).to_have_attribute("type", "text")
    await expect(password).to_have_attribute("type", "password")
    await expect(password).to_have_accessible_description(re.compile("Login password"))

    submit = page.get_by_role("button", name="Submit job")
    await submit.click()
    await expect(page.locator("#nj-var-email-error")).to_contain_text(
        "required prompt variable `email` was not supplied"
    )
    await expect(email).to_be_focused()

    await email.fill(LOGIN_VARS["email"])
    await password.fill(LOGIN_VARS["password"])
    async with page.expect_request(is_job_submission) as sent:
        await submit.click()
    body: dict[str, Any] = (await sent.value).post_data_json
    assert body["variables"] == {"email": LOGIN_VARS["email"]}
    assert body["secrets"] == {"password": LOGIN_VARS["password"]}
    assert "run_at" not in body

    await expect(page).to_have_url(JOB_PAGE)
    match = JOB_PAGE.search(page.url)
    assert match
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=60000)
    assert api.get(f"/api/v1/jobs/{match.group(1)}").json()["status"] == "completed"


async def test_uploading_a_yaml_file_fills_the_form_and_its_options_go_with_the_job(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str, tmp_path: Path
) -> None:
    text = example("login.yaml", demo_url)
    upload = tmp_path / "sign-in.yaml"
    upload.write_text(text)

    await sign_in(page, stack.token, "/console/new")
    await page.get_by_label("Or upload a YAML file").set_input_files(upload)
    await expect(page.get_by_label("Runbook YAML")).to_have_value(text)
    await expect(page.locator("#nj-runbook-status")).to_contain_text("Valid")
    await page.get_by_label("email").fill(LOGIN_VARS["email"])
    await page.get_by_label("password").fill(LOGIN_VARS["password"])
    await page.get_by_label("Title (optional)").fill("Sign in from an uploaded file")
    await page.get_by_label("Priority (optional)").fill("7")
    await page.get_by_label("Run at (optional)").fill("2099-01-01T09:30")

    await page.set_viewport_size({"width": 390, "height": 844})
    assert await no_horizontal_scroll(page)
    submit = page.get_by_role("button", name="Submit job")
    await expect(submit).to_be_visible()

    # A full queue cannot be produced cheaply (10 000 waiting jobs): answer this one submission
    # the way the gateway would, to see what the person is told.
    async def queue_full(route: Route) -> None:
        problem = {"title": "Too many waiting jobs", "status": 429, "code": "queue_full"}
        await route.fulfill(
            status=429,
            headers={"Retry-After": "7", "Content-Type": "application/problem+json"},
            body=json.dumps(problem),
        )

    await page.route("**/api/v1/jobs", queue_full)
    await submit.click()
    await expect(page.locator("#nj-form-errors")).to_have_text("Queue full, retry after 7 s.")
    await page.unroute("**/api/v1/jobs", queue_full)

    async with page.expect_request(is_job_submission) as sent:
        await submit.click()
    body: dict[str, Any] = (await sent.value).post_data_json
    assert body["run_at"] == "2099-01-01T09:30:00+01:00"
    assert body["priority"] == 7
    assert body["title"] == "Sign in from an uploaded file"
    await expect(page).to_have_url(JOB_PAGE)
    match = JOB_PAGE.search(page.url)
    assert match
    await expect(page.locator("#job-status .badge")).to_have_text("Scheduled")
    job = api.get(f"/api/v1/jobs/{match.group(1)}").json()
    try:
        assert job["status"] == "scheduled"
        assert job["title"] == "Sign in from an uploaded file"
        assert job["priority"] == 7
    finally:
        api.post(f"/api/v1/jobs/{match.group(1)}/cancel")


def login_page(demo_url: str) -> dict[str, Any]:
    return runbook(
        [{"action": {"type": "navigate", "url": f"{demo_url}/login"}}], start_url=demo_url
    )


def create_schedule(api: httpx.Client, demo_url: str, **fields: Any) -> dict[str, Any]:
    response = api.post("/api/v1/schedules", json={"runbook": login_page(demo_url), **fields})
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


async def test_schedules_page_lists_next_fire_times_and_pauses_and_unpauses_a_schedule(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    for leftover in api.get("/api/v1/schedules", params={"limit": 200}).json()["items"]:
        api.delete(f"/api/v1/schedules/{leftover['id']}")
    await sign_in(page, stack.token, "/console/schedules")
    await expect(page.get_by_text("No schedules yet.")).to_be_visible()

    schedule_id = create_schedule(
        api,
        demo_url,
        name="Nightly orders export",
        cron="30 2 * * *",
        timezone="Europe/Berlin",
        overlap="cancel_previous",
    )["id"]
    try:
        await (
            page.get_by_role("navigation", name="Main")
            .get_by_role("link", name="Schedules")
            .click()
        )
        item = page.locator(f'[data-schedule-id="{schedule_id}"]')
        await expect(item.get_by_role("heading")).to_have_text("Nightly orders export")
        await expect(page.get_by_text("No schedules yet.")).to_be_hidden()
        await expect(item.locator(".cron")).to_have_text("30 2 * * *")
        await expect(item.locator(".zone")).to_have_text("Europe/Berlin")
        await expect(item.locator(".overlap")).to_contain_text("Cancel the previous run")
        await expect(item.locator(".badge")).to_have_text("Active")
        times = item.locator(".fire-times time")
        await expect(times).to_have_count(5)
        shown = await times.evaluate_all("ts => ts.map(t => t.getAttribute('datetime'))")
        assert all(re.search(r"T02:30:00\+0[12]:00$", t) for t in shown), shown

        await item.get_by_role("button", name="Pause").click()
        await expect(item.locator(".badge")).to_have_text("Paused")
        await expect(item).to_contain_text("None while paused")
        await expect(item.get_by_role("button", name="Unpause")).to_be_focused()
        assert api.get(f"/api/v1/schedules/{schedule_id}").json()["paused"] is True

        renamed = api.patch(
            f"/api/v1/schedules/{schedule_id}", json={"name": "Nightly orders export (EU)"}
        )
        assert renamed.status_code == 200, renamed.text
        await item.get_by_role("button", name="Unpause").click()
        await expect(item.get_by_role("alert")).to_contain_text("nothing was changed")
        await expect(item.get_by_role("heading")).to_have_text("Nightly orders export (EU)")
        assert api.get(f"/api/v1/schedules/{schedule_id}").json()["paused"] is True

        await item.get_by_role("button", name="Unpause").click()
        await expect(item.locator(".badge")).to_have_text("Active")
        await expect(times).to_have_count(5)
        assert api.get(f"/api/v1/schedules/{schedule_id}").json()["paused"] is False

        await page.set_viewport_size({"width": 390, "height": 844})
        assert await no_horizontal_scroll(page)
        await expect(item.get_by_role("button", name="Pause")).to_be_visible()
    finally:
        api.delete(f"/api/v1/schedules/{schedule_id}")


async def test_a_schedules_jobs_are_one_click_away_and_link_back(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str, firing: Firing
) -> None:
    schedule = create_schedule(
        api, demo_url, name="Minutely check", cron="* * * * *", overlap="allow"
    )
    try:
        fire_at = datetime.fromisoformat(schedule["next_fire_at"])
        await firing.fire_due(fire_at + timedelta(seconds=1))
        occurrences = api.get(f"/api/v1/schedules/{schedule['id']}/occurrences").json()["items"]
        (job_id,) = [o["job_id"] for o in occurrences if o["job_id"]]
        unrelated = api.post("/api/v1/jobs", json={"runbook": login_page(demo_url)}).json()["id"]

        await sign_in(page, stack.token, "/console/schedules")
        card = page.locator(f'[data-schedule-id="{schedule["id"]}"]')
        await card.get_by_role("link", name="Its jobs").click()
        job_row = page.locator(f'tr[data-job-id="{job_id}"]')
        await expect(job_row).to_be_visible()
        await expect(page.locator(f'tr[data-job-id="{unrelated}"]')).to_have_count(0)
        await expect(page.get_by_label("Search")).to_have_value(
            f"runwright.schedule={schedule['id']}"
        )
        await expect(job_row.get_by_role("link", name="Schedule")).to_have_attribute(
            "href", re.compile(schedule["id"])
        )
    finally:
        api.delete(f"/api/v1/schedules/{schedule['id']}")
