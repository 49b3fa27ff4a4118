"""The job page's rough edges, found by trying it, in real Chromium against the real stack: how far
a failed job got (and the bar in the danger colour), a failed step's error said once, the last view
of a finished job, "no artifacts" said plainly, action toasts that go once the job moves on, the
elapsed time ticking, and the job's event stream asking for live frames."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect
from runwright_stack.stack import Stack
from support.console import row, sign_in
from support.runbooks import approval_runbook, runbook

pytestmark = pytest.mark.e2e

JOB_DONE_MS = 60000

# The colour a CSS colour value resolves to on this page (e.g. "var(--danger)" → "rgb(…)").
RESOLVED = """value => {
  const probe = document.createElement("span");
  probe.style.color = value;
  document.body.append(probe);
  const colour = getComputedStyle(probe).color;
  probe.remove();
  return colour;
}"""


# Renders a failed step, as the engine's next version reports it, with the console's own module.
RENDER_STEP = """async module => {
  const { stepItem } = await import(module);
  const message = "no element matched the selector";
  const attempts = [1, 2, 3].map(number => ({ number, tried: "id='x'→0", result: "no match" }));
  const error = { kind: "Element not found", message, diagnostics: { attempts } };
  const step = { ordinal: 1, description: "Click", action_type: "click", status: "failed",
    duration_ms: 1600, retries: 2, captured: {}, error };
  const node = stepItem(step);
  document.getElementById("main").append(node);
  const lines = [...node.querySelectorAll(".attempt-list li")].map(li => li.textContent);
  return { message: node.querySelector(".error-message").textContent, attempts: lines };
}"""


def submit(api: httpx.Client, document: object, **extra: Any) -> str:
    response = api.post("/api/v1/jobs", json={"runbook": document, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def failing_at_last_step(demo_url: str) -> dict[str, Any]:
    """Two steps: the first succeeds, the second (the last) fails after retrying its selector."""
    steps: list[dict[str, Any]] = [
        {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
        {
            "description": "Click a button that does not exist",
            "action": {"type": "click", "selector": {"tagName": "button", "id": "nope"}},
        },
    ]
    return runbook(steps, start_url=demo_url, timeout_ms=1500)


def long_wait(demo_url: str) -> dict[str, Any]:
    return runbook([{"action": {"type": "wait", "duration": 30000}}], start_url=demo_url)


def job_status(page: Page) -> Locator:
    return page.locator("#job-status .badge")


async def accent_is_danger(page: Page, bar: Locator) -> None:
    danger = await page.evaluate(RESOLVED, "var(--danger)")
    accent = await bar.evaluate("bar => getComputedStyle(bar).accentColor")
    assert accent == danger, f"the bar is {accent}, not the danger colour {danger}"


async def test_a_job_that_failed_at_its_last_step_is_not_shown_as_done_and_its_bar_is_red(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, failing_at_last_step(demo_url))
    await sign_in(page, stack.token, "/console/jobs")
    listed = row(page, job_id)
    await expect(listed.locator(".badge")).to_have_text("Failed", timeout=JOB_DONE_MS)
    await expect(listed.locator(".steps")).to_have_text("1/2")
    await expect(listed.locator(".steps")).to_have_attribute("title", "Failed: 1 of 2 steps done")
    await accent_is_danger(page, listed.locator("progress"))

    await listed.get_by_role("link").first.click()
    await expect(job_status(page)).to_have_text("Failed")
    await expect(page.locator(".metric", has_text="Progress").locator("dd")).to_have_text("1/2")
    bar = page.get_by_role("progressbar", name=re.compile("^Progress: 1 of 2 steps done"))
    await expect(bar).to_have_attribute("value", "1")
    await expect(bar).to_have_attribute("max", "2")
    await expect(bar).to_have_accessible_name("Progress: 1 of 2 steps done; step 2 failed")
    await accent_is_danger(page, bar)
    await page.emulate_media(color_scheme="dark")
    await accent_is_danger(page, bar)
    await expect(page.locator('.step[data-ordinal="1"] .step-title')).to_have_text(
        "Step 2: Click a button that does not exist"
    )


async def test_a_failed_steps_error_is_said_once_not_once_per_attempt(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, failing_at_last_step(demo_url))
    await page.set_viewport_size({"width": 390, "height": 844})
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    error = page.get_by_role("group", name="Step 2 error")
    await expect(error).to_be_visible(timeout=JOB_DONE_MS)
    retries = api.get(f"/api/v1/jobs/{job_id}").json()["steps"][1]["retries"]
    assert retries >= 1, "the engine retried the selector, so there were several attempts"
    message = await error.locator(".error-message").inner_text()
    assert message.count("id='nope'") == 1, message
    # Today's engine repeats the failure per attempt (folded here); its next lists them.
    said = re.compile(r"the same on \d+ attempts|Attempts \(\d+\)")
    await expect(error).to_contain_text(said)
    await error.get_by_text("Diagnostics").click()
    tried = await error.locator("details ul li").all_inner_texts()
    assert tried
    assert len(tried) == len(set(tried)), f"each strategy is listed once: {tried}"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "the page fits a phone's width"


async def test_the_attempts_the_engine_lists_are_shown_one_per_line_under_one_message(
    page: Page, stack: Stack
) -> None:
    """The engine's next version says the message once and lists each attempt in
    diagnostics.attempts; the console's own step renderer shows that list."""
    await sign_in(page, stack.token, "/console/jobs")
    assets = await page.evaluate(
        "[...document.scripts].map(s => s.src).find(src => src.endsWith('/app.js'))"
    )
    rendered = await page.evaluate(RENDER_STEP, assets.replace("/app.js", "/detail/steps.js"))
    assert rendered["message"] == "no element matched the selector"
    assert rendered["attempts"] == [f"Attempt {n}: id='x'→0 — no match" for n in (1, 2, 3)]
    await expect(page.get_by_role("list", name="Attempts")).to_be_visible()


async def test_a_finished_job_with_screenshots_shows_the_last_one_as_its_last_view(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    steps = [
        {"action": {"type": "navigate", "url": "/login"}},
        {"action": {"type": "wait", "duration": 1}},
    ]
    job_id = submit(api, runbook(steps, start_url=demo_url), screenshots=True)
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    await expect(job_status(page)).to_have_text("Completed", timeout=JOB_DONE_MS)
    await expect(page.get_by_role("heading", name="Last view")).to_be_visible()
    await expect(page.get_by_role("heading", name="Live view")).to_have_count(0)
    shot = page.get_by_role("img", name="The job's browser when it finished")
    await expect(shot).to_be_visible()
    # Opened later, the page has seen no live frame: the last screenshot stored stands in.
    await page.reload()
    await expect(page.get_by_role("heading", name="Last view")).to_be_visible()
    await expect(page.get_by_role("heading", name="Live view")).to_have_count(0)
    await expect(page.locator("#live-note")).to_contain_text("step 2")
    await expect(shot).to_have_attribute("src", re.compile(r"^/api/v1/artifacts/"))
    await page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=await shot.element_handle()
    )


async def test_a_finished_job_without_artifacts_says_so_and_shows_no_live_view(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url))
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    await expect(job_status(page)).to_have_text("Completed", timeout=JOB_DONE_MS)
    artifacts = page.locator("#artifacts")
    await expect(artifacts.get_by_text("This job produced no artifacts.")).to_be_visible()
    await expect(artifacts.get_by_text("No artifacts yet.")).to_have_count(0)
    await expect(page.get_by_role("heading", name="Live view")).to_have_count(0)
    await page.reload()
    await expect(artifacts.get_by_text("This job produced no artifacts.")).to_be_visible()
    await expect(page.get_by_role("heading", name="Live view")).to_have_count(0)
    # A frame seen while it ran may stay up as its last view; read afresh there is none to show.
    await expect(page.get_by_role("heading", name="Last view")).to_have_count(0)


async def test_an_actions_toast_goes_once_the_job_has_moved_on(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, long_wait(demo_url))
    try:
        await sign_in(page, stack.token, f"/console/jobs/{job_id}")
        await expect(job_status(page)).to_have_text("Running", timeout=JOB_DONE_MS)
        await page.get_by_role("button", name="Pause", exact=True).click()
        toast = page.locator("#toast")
        await expect(toast).to_have_text(re.compile("^Pause: the job is now"))
        await expect(job_status(page)).to_have_text("Paused")
        assert api.post(f"/api/v1/jobs/{job_id}/resume").status_code in (200, 202)
        await expect(job_status(page)).to_have_text("Running")
        # Toasts last six seconds: this one goes with the state it spoke of, long before that.
        await expect(toast).to_be_hidden(timeout=2500)
    finally:
        api.post(f"/api/v1/jobs/{job_id}/cancel")


async def test_a_running_job_shows_its_elapsed_time_ticking_and_asks_for_live_frames(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, long_wait(demo_url))
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/events" in r.url else None)
    try:
        await sign_in(page, stack.token, f"/console/jobs/{job_id}")
        await expect(job_status(page)).to_have_text("Running", timeout=JOB_DONE_MS)
        elapsed = page.locator(".metric", has_text="Elapsed").locator("dd")
        await expect(elapsed).to_have_text(re.compile(r"^\d"))
        first = await elapsed.inner_text()
        await page.wait_for_function(
            "first => document.getElementById('job-elapsed').textContent !== first",
            arg=first,
            timeout=5000,
        )
        job_streams = [url for url in streams if f"/api/v1/jobs/{job_id}/events" in url]
        assert job_streams, streams
        assert all("live=1" in url for url in job_streams), job_streams
    finally:
        api.post(f"/api/v1/jobs/{job_id}/cancel")
    await expect(job_status(page)).to_have_text("Cancelled")
    await expect(page.locator(".metric", has_text="Total duration")).to_be_visible()
    await expect(page.locator(".metric", has_text="Elapsed")).to_have_count(0)


async def test_the_job_page_offers_exactly_the_actions_the_server_allows(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000))
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    dialog = page.locator("#approval-dialog")
    await expect(dialog).to_be_visible(timeout=JOB_DONE_MS)
    await page.keyboard.press("Escape")  # decide from the page's own buttons instead
    await expect(dialog).to_be_hidden()
    allowed = api.get(f"/api/v1/jobs/{job_id}").json()["allowed_actions"]
    assert "skip" in allowed
    actions = page.get_by_role("group", name="Job actions").get_by_role("button")
    await expect(actions).to_have_text([action.capitalize() for action in allowed])
    await actions.get_by_text("Skip", exact=True).click()
    await expect(job_status(page)).to_have_text("Completed", timeout=JOB_DONE_MS)
    await expect(page.locator('.step[data-ordinal="1"] .badge')).to_have_text("Skipped")
    await expect(page.locator(".metric", has_text="Progress").locator("dd")).to_have_text("3/3")
    assert api.get(f"/api/v1/jobs/{job_id}").json()["allowed_actions"] == []
    await expect(actions).to_have_count(0)
