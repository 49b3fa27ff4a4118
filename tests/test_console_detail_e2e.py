"""The job detail page in real Chromium against the real stack: the live view changing while a job
runs, Reject from the approval dialog, Pause then Resume from the page, and every artifact kind
shown (gallery, player, table and JSON previews, file row) and downloaded from its Download link."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fixture_app.content import blob_bytes
from playwright.async_api import Locator, Page, expect
from runwright_stack.stack import Stack
from support.console import sign_in
from support.runbooks import runbook

pytestmark = pytest.mark.e2e

JOB_DONE_MS = 60000
PNG = b"\x89PNG\r\n\x1a\n"
WEBM = b"\x1a\x45\xdf\xa3"

# Resolves to the live view's new `src` once it differs from the one passed in.
NEXT_FRAME = """previous => {
  const image = document.getElementById("live-screenshot");
  return !image.hidden && image.src && image.src !== previous ? image.src : null;
}"""


def submit(api: httpx.Client, document: object, **extra: Any) -> str:
    response = api.post("/api/v1/jobs", json={"runbook": document, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def job_status(page: Page) -> Locator:
    return page.locator("#job-status .badge")


def step_badge(page: Page, ordinal: int) -> Locator:
    return page.locator(f'.step[data-ordinal="{ordinal}"] .badge')


def artifact_group(page: Page, title: str) -> Locator:
    """The list under an artifact heading such as "Screenshots (6)"."""
    return page.locator("#artifacts").get_by_role("list", name=re.compile(rf"^{title}\b"))


async def download(page: Page, link: Locator) -> tuple[str, bytes]:
    async with page.expect_download() as started:
        await link.click()
    done = await started.value
    saved = await done.path()
    return done.suggested_filename, Path(saved).read_bytes()


async def test_the_live_view_shows_new_frames_while_a_slow_job_runs(
    page: Page, stack: Stack, api: httpx.Client, fixture_url: str
) -> None:
    # The job must outlast the whole observation even on a loaded machine: it is cancelled below.
    steps = [{"action": {"type": "wait", "duration": 300000}}]
    job_id = submit(api, runbook(steps, start_url=f"{fixture_url}/mutating", timeout_ms=600000))
    try:
        await sign_in(page, stack.token, f"/console/jobs/{job_id}")
        live = page.locator("#live-screenshot")
        await expect(live).to_be_visible(timeout=JOB_DONE_MS)
        seen = [await live.get_attribute("src") or ""]
        for _ in range(2):
            changed = await page.wait_for_function(NEXT_FRAME, arg=seen[-1], timeout=30000)
            seen.append(await changed.json_value())
        assert all(src.startswith("data:image/jpeg;base64,") for src in seen)
        assert len(set(seen)) == 3, "the page animates, so each new frame is a new image"
        await expect(live).to_be_visible()
        await expect(job_status(page)).to_have_text("Running")
    finally:
        api.post(f"/api/v1/jobs/{job_id}/cancel")


async def test_reject_in_the_approval_dialog_fails_the_job_without_a_reload(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    steps: list[dict[str, Any]] = [
        {"action": {"type": "navigate", "url": "/login"}},
        {
            "description": "Enter the customer's email",
            "riskLevel": "high",
            "requiresConfirmation": True,
            "action": {"type": "input", "selector": {"id": "email"}, "value": "x@example.com"},
        },
        {"action": {"type": "wait", "duration": 1}},
    ]
    job_id = submit(api, runbook(steps, start_url=demo_url, timeout_ms=5000))
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    await page.evaluate("window.sameDocument = true")
    dialog = page.locator("#approval-dialog")
    await expect(dialog).to_be_visible(timeout=JOB_DONE_MS)
    await expect(dialog).to_contain_text("Enter the customer's email")
    await expect(job_status(page)).to_have_text("Waiting for approval")
    await dialog.get_by_role("button", name="Reject").click()
    await expect(dialog).to_be_hidden()
    await expect(job_status(page)).to_have_text("Failed", timeout=JOB_DONE_MS)
    await expect(step_badge(page, 1)).to_have_text("Failed")
    await expect(page.locator('.step[data-ordinal="1"] .error-kind')).to_have_text("Rejected")
    await expect(step_badge(page, 2)).to_have_text("Skipped")
    for name in ("Approve", "Reject"):
        await expect(page.get_by_role("button", name=name, exact=True)).to_be_hidden()
    await expect(page.get_by_role("link", name="Download Markdown")).to_be_visible()
    assert await page.evaluate("window.sameDocument") is True, "the page was not reloaded"


async def test_pause_then_resume_from_the_page_holds_the_job_then_completes_it(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    steps: list[dict[str, Any]] = [
        {"action": {"type": "wait", "duration": 6000}},
        {"action": {"type": "wait", "duration": 500}},
        {"action": {"type": "wait", "duration": 500}},
    ]
    document = runbook(steps, start_url=demo_url, timeout_ms=10000)
    job_id = submit(api, document, screenshots=True)
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    pause = page.get_by_role("button", name="Pause", exact=True)
    resume = page.get_by_role("button", name="Resume", exact=True)
    await expect(job_status(page)).to_have_text("Running", timeout=JOB_DONE_MS)
    await expect(resume).to_be_hidden()
    # Pause holds at the next step boundary: pause once the first step runs.
    await expect(step_badge(page, 0)).to_have_text("Running", timeout=JOB_DONE_MS)
    await pause.click()
    await expect(job_status(page)).to_have_text("Paused")
    await expect(resume).to_be_visible()
    await expect(resume).to_be_enabled()
    await expect(pause).to_be_hidden()
    await expect(step_badge(page, 0)).to_have_text("Success", timeout=JOB_DONE_MS)
    await expect(step_badge(page, 1)).to_have_text("Pending")
    shots = artifact_group(page, "Screenshots").get_by_role("button", name=re.compile("full size"))
    await expect(shots).to_have_count(1)  # step 0's screenshot, arrived live
    await expect(job_status(page)).to_have_text("Paused")
    await resume.click()
    await expect(job_status(page)).to_have_text("Completed", timeout=JOB_DONE_MS)
    for ordinal in range(3):
        await expect(step_badge(page, ordinal)).to_have_text("Success")
    await expect(shots).to_have_count(3)
    await expect(resume).to_be_hidden()
    assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed"


def artifacts_runbook(fixture_url: str) -> dict[str, Any]:
    """Screenshots (one a step), a CSV and a JSON export of the products (plus a row whose name
    needs CSV quoting), and a downloaded binary file; the job asks for a video too."""
    rows = (
        "[...document.querySelectorAll('#products tbody tr')].map(r => "
        "({name: r.cells[0].innerText, price: Number(r.cells[1].innerText)}))"
        ".concat([{name: 'Cable, \"heavy duty\"', price: 7}])"
    )
    steps: list[dict[str, Any]] = [
        {"action": {"type": "wait", "selector": {"id": "products"}}},
        {
            "action": {"type": "extract", "script": rows},
            "captures": [
                {"name": "rows", "strategy": "expression", "expression": "{{__extracted}}"}
            ],
            "memoryOperations": [{"type": "append", "collection": "products", "source": "rows"}],
        },
        {"action": {"type": "export", "exportCollection": "products", "fileName": "products"}},
        {
            "action": {
                "type": "export",
                "exportCollection": "products",
                "format": "json",
                "fileName": "products",
            }
        },
        {"action": {"type": "navigate", "url": "/downloads"}},
        {"action": {"type": "download", "selector": {"id": "binary-button"}}},
    ]
    return runbook(steps, start_url=f"{fixture_url}/table")


async def test_every_artifact_kind_is_shown_and_downloads_from_the_page(
    page: Page, stack: Stack, api: httpx.Client, fixture_url: str
) -> None:
    job_id = submit(api, artifacts_runbook(fixture_url), screenshots=True, video=True)
    await sign_in(page, stack.token, f"/console/jobs/{job_id}")
    await expect(job_status(page)).to_have_text("Completed", timeout=JOB_DONE_MS)

    # Screenshots: a gallery of thumbnails; the keyboard opens the full image and steps through.
    gallery = artifact_group(page, "Screenshots")
    thumbs = gallery.get_by_role("button", name=re.compile("view full size"))
    await expect(thumbs).to_have_count(6, timeout=JOB_DONE_MS)
    await thumbs.first.focus()
    await page.keyboard.press("Enter")
    viewer = page.locator("#artifact-viewer")
    await expect(viewer).to_be_visible()
    await expect(viewer.get_by_role("heading")).to_contain_text("Step 1")
    await page.wait_for_function(
        "() => document.querySelector('#artifact-viewer img').naturalWidth > 0"
    )
    await page.keyboard.press("ArrowRight")
    await expect(viewer.get_by_role("heading")).to_contain_text("Step 2")
    await expect(viewer).to_contain_text("2 of 6")
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    await expect(thumbs.first).to_be_focused()
    name, data = await download(page, gallery.get_by_role("link", name="Download step-1.png"))
    assert name == "step-1.png"
    assert data.startswith(PNG)

    # Video: a player that can read the recording, and its download.
    videos = artifact_group(page, "Videos")
    player = videos.locator("video[controls]")
    await expect(player).to_have_count(1, timeout=JOB_DONE_MS)
    await player.evaluate(
        "video => new Promise((ok, fail) => video.readyState >= 1 ? ok() :"
        " (video.onloadedmetadata = ok, video.onerror = () => fail(new Error('unplayable'))))"
    )
    assert await player.evaluate("video => video.videoWidth") > 0
    name, data = await download(page, videos.get_by_role("link", name=re.compile("^Download ")))
    assert name.endswith(".webm")
    assert data[:4] == WEBM

    # Exports: the CSV as a table (quoted fields intact), the JSON formatted.
    exports = artifact_group(page, "Exports")
    table = exports.get_by_role("table")
    await expect(table.get_by_role("columnheader")).to_have_text(["name", "price"])
    await expect(table.get_by_role("cell", name="Standing desk", exact=True)).to_be_visible()
    quoted = table.get_by_role("row").filter(has_text="heavy duty").get_by_role("cell")
    await expect(quoted).to_have_text(['Cable, "heavy duty"', "7"])
    name, data = await download(page, exports.get_by_role("link", name="Download products.csv"))
    assert name == "products.csv"
    assert data.decode().startswith("name,price\n")
    assert '"Cable, ""heavy duty""",7' in data.decode()

    pretty = exports.locator("pre")
    await expect(pretty).to_contain_text("Desk lamp")
    text = await pretty.text_content() or ""
    assert '[\n  {\n    "name": "Desk lamp",\n    "price": 19.99\n  },' in text
    name, data = await download(page, exports.get_by_role("link", name="Download products.json"))
    assert name == "products.json"
    assert json.loads(data)[-1] == {"name": 'Cable, "heavy duty"', "price": 7}

    # Downloads: a file row with name, size and type, and the very bytes the page served.
    downloads = artifact_group(page, "Downloads")
    await expect(downloads.get_by_role("listitem")).to_have_count(1)
    await expect(downloads).to_contain_text("blob.bin")
    await expect(downloads).to_contain_text("64 KiB")
    await expect(downloads).to_contain_text("application/octet-stream")
    name, data = await download(page, downloads.get_by_role("link", name="Download blob.bin"))
    assert name == "blob.bin"
    assert data == blob_bytes()

    # At phone width the page does not scroll sideways (wide content scrolls in its own box).
    await page.set_viewport_size({"width": 390, "height": 844})
    await expect(table).to_be_visible()
    assert await page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
