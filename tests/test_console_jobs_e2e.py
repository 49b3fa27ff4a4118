"""The Jobs page in real Chromium against the real stack: every status tab with its count, a job
moving Queued → Running → Completed without a reload, search and the trigger filter, and both
pages carrying on after the gateway restarts."""

from __future__ import annotations

import os
import re
import signal
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.async_api import APIResponse, Page, Route, expect
from runwright_stack.ports import wait_for_port
from runwright_stack.stack import Stack
from support.console import row, sign_in
from support.runbooks import runbook

pytestmark = pytest.mark.e2e

TAB_LABELS = {
    "": "All",
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "scheduled": "Scheduled",
    "queued": "Queued",
    "waiting_for_approval": "Waiting for approval",
    "paused": "Paused",
    "cancelled": "Cancelled",
}


def submit(api: httpx.Client, demo_url: str, steps: list[dict[str, Any]], **extra: Any) -> str:
    title = extra.pop("title", "Console list job")
    document = runbook(steps, start_url=demo_url, timeout_ms=3000)
    document["title"] = title
    response = api.post("/api/v1/jobs", json={"runbook": document, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def waits(n: int) -> list[dict[str, Any]]:
    return [{"action": {"type": "wait", "duration": 1000}} for _ in range(n)]


def needs_approval() -> list[dict[str, Any]]:
    return [
        {
            "description": "Approve before going on",
            "riskLevel": "high",
            "requiresConfirmation": True,
            "action": {"type": "wait", "duration": 1000},
        }
    ]


def status_of(api: httpx.Client, job_id: str) -> str:
    return str(api.get(f"/api/v1/jobs/{job_id}").json()["status"])


def wait_status(api: httpx.Client, job_id: str, *wanted: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (current := status_of(api, job_id)) not in wanted:
        assert time.monotonic() < deadline, f"job {job_id} stayed {current}, not {wanted}"
        time.sleep(0.2)


def later() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


async def open_tab(page: Page, status: str) -> None:
    await page.get_by_role("tab", name=TAB_LABELS[status]).first.click()
    await expect(page.get_by_role("tab", selected=True)).to_contain_text(TAB_LABELS[status])


async def test_each_status_tab_lists_its_jobs_with_its_count(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    jobs = {
        "scheduled": submit(api, demo_url, waits(1), run_at=later()),
        "cancelled": submit(api, demo_url, waits(1), run_at=later()),
        "completed": submit(api, demo_url, [{"action": {"type": "navigate", "url": demo_url}}]),
        "failed": submit(
            api,
            demo_url,
            [{"action": {"type": "click", "selector": {"tagName": "button", "id": "absent"}}}],
        ),
        "waiting_for_approval": submit(api, demo_url, needs_approval()),
        "paused": submit(api, demo_url, waits(30)),
    }
    api.post(f"/api/v1/jobs/{jobs['cancelled']}/cancel")
    wait_status(api, jobs["paused"], "running")
    assert api.post(f"/api/v1/jobs/{jobs['paused']}/pause").status_code == 200
    for status in ("completed", "failed", "waiting_for_approval", "paused"):
        wait_status(api, jobs[status], status)
    # Both browser slots are held (approval and pause keep theirs): the next job waits its turn.
    jobs["queued"] = submit(api, demo_url, waits(1))
    jobs["running"] = jobs["paused"]
    try:
        await sign_in(page, stack.token)
        for status, label in TAB_LABELS.items():
            await open_tab(page, status)
            expected = api.get("/api/v1/jobs/counts").json()
            n = expected["by_status"][status] if status else expected["total"]
            tab = page.get_by_role("tab", selected=True)
            await expect(tab.locator(".count")).to_have_text(f"{n:,}")
            await expect(tab).to_have_attribute(
                "aria-label", f"{label}, {n} job{'s' if n != 1 else ''}"
            )
            if status == "running":
                # The paused job leaves Running when it was paused; resume brings it back.
                await expect(row(page, jobs["paused"])).to_have_count(0)
                assert api.post(f"/api/v1/jobs/{jobs['paused']}/resume").status_code == 200
                await expect(row(page, jobs["paused"]).locator(".badge")).to_have_text("Running")
                assert api.post(f"/api/v1/jobs/{jobs['paused']}/pause").status_code == 200
                await expect(row(page, jobs["paused"])).to_have_count(0)
                continue
            if status:
                await expect(row(page, jobs[status])).to_be_visible()
                badges = page.locator("#jobs-panel tbody .badge")
                for text in await badges.all_inner_texts():
                    assert text == label
            else:
                for job_id in jobs.values():
                    await expect(row(page, job_id)).to_be_visible()
        assert "status=cancelled" in page.url
    finally:
        for job_id in jobs.values():
            api.post(f"/api/v1/jobs/{job_id}/cancel")


async def test_a_reply_read_before_a_newer_event_does_not_bring_a_row_back(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    """The page fetches a job that an event brought into its tab; if the job changes again
    before the reply arrives (it was read before the change), the reply must not show the job
    as it was. Here the reply to "it is running again" is held until the job was paused."""
    job = submit(api, demo_url, waits(30))
    held: list[tuple[Route, APIResponse]] = []

    async def hold_first(route: Route) -> None:
        if held:
            await route.fallback()
            return
        held.append((route, await route.fetch()))

    try:
        wait_status(api, job, "running")
        assert api.post(f"/api/v1/jobs/{job}/pause").status_code == 200
        wait_status(api, job, "paused")
        await sign_in(page, stack.token)
        await open_tab(page, "running")
        await expect(row(page, job)).to_have_count(0)
        await page.evaluate(
            """(id) => {
                window.rowsShown = 0;
                new MutationObserver((changes) => {
                    for (const change of changes)
                        for (const node of change.addedNodes)
                            if (node.dataset?.jobId === id) window.rowsShown += 1;
                }).observe(document.querySelector("#jobs-panel tbody"), { childList: true });
            }""",
            job,
        )
        await page.route(f"**/api/v1/jobs/{job}", hold_first)
        assert api.post(f"/api/v1/jobs/{job}/resume").status_code == 200
        deadline = time.monotonic() + 30
        while not held:
            assert time.monotonic() < deadline, "the page never fetched the resumed job"
            await page.wait_for_timeout(50)
        # The reply says "running"; the job is paused again before it arrives.
        assert api.post(f"/api/v1/jobs/{job}/pause").status_code == 200
        paused = api.get("/api/v1/jobs/counts").json()["by_status"]["paused"]
        paused_tab = page.get_by_role("tab", name=TAB_LABELS["paused"]).first
        await expect(paused_tab.locator(".count")).to_have_text(f"{paused:,}")
        await page.wait_for_timeout(1000)  # the pause event has reached the page
        route, reply = held[0]
        await route.fulfill(response=reply)
        await page.wait_for_timeout(1500)
        await expect(row(page, job)).to_have_count(0)
        assert await page.evaluate("window.rowsShown") == 0
    finally:
        await page.unroute(f"**/api/v1/jobs/{job}", hold_first)
        api.post(f"/api/v1/jobs/{job}/cancel")


async def test_a_job_moves_from_queued_to_running_to_completed_without_a_reload(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    holders = [submit(api, demo_url, needs_approval()) for _ in range(2)]
    for job_id in holders:
        wait_status(api, job_id, "waiting_for_approval")
    try:
        await sign_in(page, stack.token)
        await page.evaluate("window.__sameDocument = true")
        completed_tab = page.get_by_role("tab", name="Completed")
        await expect(completed_tab.locator(".count")).to_have_text(re.compile(r"^[\d,]+$"))
        completed_before = await completed_tab.locator(".count").inner_text()
        job_id = submit(api, demo_url, waits(3), title="Moves through the tabs")
        badge = row(page, job_id).locator(".badge")
        await expect(badge).to_have_text("Queued")
        await expect(page.get_by_role("tab", name="Queued").locator(".count")).not_to_have_text("0")
        assert api.post(f"/api/v1/jobs/{holders[0]}/approve").status_code == 200
        await expect(badge).to_have_text("Running", timeout=30000)
        await expect(row(page, job_id).locator(".steps")).not_to_contain_text("0/3", timeout=30000)
        await expect(badge).to_have_text("Completed", timeout=45000)
        await expect(row(page, job_id)).to_contain_text("3/3")
        await expect(completed_tab.locator(".count")).not_to_have_text(completed_before)
        await open_tab(page, "completed")
        await expect(row(page, job_id)).to_be_visible()
        assert await page.evaluate("window.__sameDocument") is True
    finally:
        for job_id in holders:
            api.post(f"/api/v1/jobs/{job_id}/cancel")


async def test_search_by_title_and_label_and_the_trigger_filter(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    marker = f"m{time.time_ns()}"
    single = submit(
        api, demo_url, waits(1), title=f"Nightly export {marker}", labels={"team": marker}
    )
    document = runbook(waits(1), start_url=demo_url, variables={"n": {"source": "data"}})
    document["title"] = f"Batch row {marker}"
    document["dataSource"] = {"mapping": {"n": "N"}}
    batch = api.post("/api/v1/jobs", json={"runbook": document, "data": [{"N": 1}, {"N": 2}]})
    assert batch.status_code == 201, batch.text
    children = [j["id"] for j in api.get(f"/api/v1/batches/{batch.json()['id']}").json()["jobs"]]
    assert len(children) == 2

    await sign_in(page, stack.token)
    search = page.get_by_label("Search")
    await search.fill(marker)
    rows = page.locator("#jobs-panel tbody tr")
    await expect(rows).to_have_count(3)
    # The tabs count what the search matches.
    all_tab = page.get_by_role("tab", name="All")
    await expect(all_tab.locator(".count")).to_have_text("3")
    await expect(all_tab).to_have_attribute("aria-label", "All, 3 matching jobs")
    await search.fill(f"nightly EXPORT {marker}")
    await expect(rows).to_have_count(1)
    await expect(row(page, single)).to_be_visible()
    await search.fill(f"team={marker}")
    await expect(rows).to_have_count(1)
    await expect(row(page, single)).to_be_visible()
    await search.fill(marker)
    await page.get_by_label("Trigger").select_option("batch")
    await expect(rows).to_have_count(2)
    assert "trigger=batch" in page.url
    assert f"q={marker}" in page.url
    await page.get_by_label("Trigger").select_option("api")
    await expect(rows).to_have_count(1)
    await search.fill(f"no such job {marker}")
    await expect(page.get_by_text("No jobs match.")).to_be_visible()

    # A batch child's trigger links to the batch's jobs.
    await search.fill("")
    await page.get_by_label("Trigger").select_option("")
    await row(page, children[0]).get_by_role("link", name="Batch", exact=True).click()
    await expect(rows).to_have_count(2)
    await expect(page.locator(".chip")).to_contain_text("Batch")


async def test_the_list_and_the_detail_page_carry_on_after_the_gateway_restarts(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    await sign_in(page, stack.token)
    detail = await page.context.new_page()
    job_id = submit(api, demo_url, waits(6), title="Outlives the gateway")
    await expect(row(page, job_id).locator(".badge")).to_have_text("Running", timeout=30000)
    await detail.goto(f"/console/jobs/{job_id}")
    await expect(detail.locator("#job-status")).to_contain_text("Running")
    for p in (page, detail):
        await p.evaluate("window.__sameDocument = true")

    gateway = stack.service("gateway")
    assert gateway.proc is not None
    os.kill(gateway.proc.pid, signal.SIGKILL)
    gateway.proc.wait(10)
    await expect(page.locator("#live-state")).to_have_text("Reconnecting…")
    time.sleep(2)  # the job goes on meanwhile; its events wait in the stream
    stack.revive()
    wait_for_port(stack.config.gateway_port, 60)

    await expect(row(page, job_id).locator(".badge")).to_have_text("Completed", timeout=60000)
    await expect(row(page, job_id)).to_have_count(1)
    await expect(row(page, job_id)).to_contain_text("6/6")
    await expect(page.locator("#live-state")).to_have_text("Live")
    await expect(detail.locator("#job-status")).to_contain_text("Completed", timeout=60000)
    await expect(detail.locator("#timeline > li")).to_have_count(6)
    await expect(detail.locator("#timeline .badge-success")).to_have_count(6)
    for p in (page, detail):
        assert await p.evaluate("window.__sameDocument") is True
    await detail.close()


async def test_the_jobs_page_works_from_the_keyboard_and_at_phone_width(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = submit(api, demo_url, waits(1), run_at=later(), title="Reached by keyboard")
    try:
        await page.set_viewport_size({"width": 390, "height": 844})
        await sign_in(page, stack.token)
        await expect(row(page, job_id)).to_be_visible()
        # Each job is a card that fits the screen: nothing scrolls sideways, facts are labelled.
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        box = page.locator(".table-scroll")
        assert await box.evaluate("el => el.scrollWidth <= el.clientWidth")
        trigger_cell = row(page, job_id).locator("td").last
        label = await trigger_cell.evaluate("td => getComputedStyle(td, '::before').content")
        assert label == '"Trigger: "'
        await expect(trigger_cell).to_have_text("API")
        card = await row(page, job_id).bounding_box()
        assert card is not None
        assert card["width"] <= 390

        await page.get_by_role("tab", name="All").focus()
        await page.keyboard.press("ArrowRight")
        await expect(page.get_by_role("tab", selected=True)).to_contain_text("Running")
        await expect(page.get_by_role("tab", name="Running")).to_be_focused()
        await page.keyboard.press("End")
        await expect(page.get_by_role("tab", selected=True)).to_contain_text("Cancelled")
        await page.keyboard.press("Home")
        await page.keyboard.press("ArrowLeft")
        await expect(page.get_by_role("tab", selected=True)).to_contain_text("Cancelled")
        await page.keyboard.press("ArrowRight")
        await expect(page.get_by_role("tab", selected=True)).to_contain_text("All")
        link = row(page, job_id).get_by_role("link", name="Reached by keyboard")
        await link.focus()
        await page.keyboard.press("Enter")
        await expect(page).to_have_url(f"{stack.gateway_url}/console/jobs/{job_id}")
        await expect(page.get_by_role("heading", name="Reached by keyboard")).to_be_visible()
        assert await page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    finally:
        api.post(f"/api/v1/jobs/{job_id}/cancel")
