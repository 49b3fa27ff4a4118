"""Refresh the console screenshots in ``docs/images`` (``make screenshots``).

Starts the whole system with its demo app in a private data directory, runs a few jobs from
``examples/`` against the demo app (completed ones, a batch, one from a schedule, a failure, one
waiting for approval, one scheduled for tomorrow), then photographs the console in Chromium at
1280x800: the Jobs page (All tab) in light and dark, and a completed job's detail page with its
timeline, metrics, screenshots and export.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any

import httpx
import yaml
from playwright.async_api import Browser, Page, async_playwright, expect
from runwright_engine.browser import launch
from runwright_stack.ports import free_port, port_in_use
from runwright_stack.stack import Stack, StackConfig

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
EXAMPLES = ROOT / "examples"
VIEWPORT = {"width": 1280, "height": 800}
TERMINAL = {"completed", "failed", "cancelled"}
DEMO_PORT = 8090
"""The demo app's usual port (the examples' URLs), when free: the report then shows it."""


def say(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def example(name: str, demo_url: str) -> dict[str, Any]:
    """An example runbook pointed at this run's demo app."""
    text = (EXAMPLES / name).read_text().replace("http://127.0.0.1:8090", demo_url)
    document: dict[str, Any] = yaml.safe_load(text)
    return document


@contextmanager
def running_system() -> Iterator[Stack]:
    data_dir = Path(tempfile.mkdtemp(prefix="runwright-screenshots-", dir="/tmp"))
    data_dir.chmod(0o755)  # the PostgreSQL system user must reach it
    stack = Stack(
        StackConfig(
            data_dir=data_dir,
            gateway_port=free_port(),
            admin_token="rw_" + secrets.token_urlsafe(24),
            demo_port=free_port() if port_in_use(DEMO_PORT) else DEMO_PORT,
            durable=False,
        )
    )
    try:
        stack.start(lambda _, text: say(f"  ✓ {text}"))
        yield stack
    finally:
        stack.stop(grace_s=10)
        shutil.rmtree(data_dir, ignore_errors=True)


# ---- the jobs ------------------------------------------------------------------------------------


def submit(api: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post("/api/v1/jobs", json=body)
    if response.status_code != 201:
        raise RuntimeError(f"submit failed: {response.status_code} {response.text}")
    created: dict[str, Any] = response.json()
    return created


def submit_jobs(api: httpx.Client, demo_url: str) -> dict[str, str]:
    """The jobs on the pictures; returns the ids worth waiting for, by role."""
    login = example("login.yaml", demo_url)
    export = example("export-orders.yaml", demo_url)
    ops = {"email": "ops@example.com", "password": "demo"}
    schedule = api.post(
        "/api/v1/schedules",
        json={
            "name": "Sign-in health check",
            "cron": "* * * * *",
            "runbook": login,
            "variables": {"email": "monitor@example.com", "password": "demo"},
            "labels": {"team": "operations"},
        },
    )
    schedule.raise_for_status()
    batch_runbook = {**login, "dataSource": {"mapping": {"email": "email"}}}
    rows = [{"email": f"{name}@example.com"} for name in ("ana", "ben", "chloe")]
    submit(api, {"runbook": batch_runbook, "data": rows, "variables": {"password": "demo"}})
    jobs = {
        "export": submit(
            api,
            {
                "runbook": export,
                "variables": ops,
                "screenshots": True,
                "labels": {"team": "finance"},
            },
        )["id"],
        "login": submit(api, {"runbook": login, "variables": ops})["id"],
        "failed": submit(
            api,
            {
                "runbook": login,
                "title": "Sign in as the auditor",
                "variables": {"email": "audit@example.com", "password": "expired"},
            },
        )["id"],
    }
    jobs["schedule"] = schedule.json()["id"]
    return jobs


def approval_and_scheduled(api: httpx.Client, demo_url: str) -> str:
    """An export that stops for approval before its download, and one for tomorrow morning."""
    export = example("export-orders.yaml", demo_url)
    export["steps"][-1]["requiresConfirmation"] = True
    export["steps"][-1]["riskLevel"] = "high"
    variables = {"email": "ops@example.com", "password": "demo"}
    waiting = submit(api, {"runbook": export, "variables": variables, "title": "Month-end export"})
    tomorrow = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), clock(6), UTC)
    submit(
        api,
        {
            "runbook": example("export-orders.yaml", demo_url),
            "variables": variables,
            "title": "Export shipped orders (tomorrow 06:00 UTC)",
            "run_at": tomorrow.isoformat(),
        },
    )
    return str(waiting["id"])


def wait_until(what: str, check: Any, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.5)


def settle_jobs(api: httpx.Client, jobs: dict[str, str], waiting: str) -> None:
    """Wait until every job is where the pictures want it, and the schedule has fired once."""

    def status(job_id: str) -> str:
        return str(api.get(f"/api/v1/jobs/{job_id}").json()["status"])

    def all_settled() -> bool:
        items = api.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
        active = [j for j in items if j["status"] not in TERMINAL | {"scheduled"}]
        return len(active) == 1 and status(waiting) == "waiting_for_approval"

    def fired() -> bool:
        items = api.get("/api/v1/jobs", params={"trigger": "schedule"}).json()["items"]
        return bool(items) and all(j["status"] in TERMINAL for j in items)

    wait_until("the jobs to finish", all_settled)
    say("  jobs settled; waiting for the schedule's first run (at most a minute)")
    wait_until("the schedule to fire", fired, timeout=120)
    api.patch(f"/api/v1/schedules/{jobs['schedule']}", json={"paused": True}).raise_for_status()
    wait_until("the jobs to finish", all_settled)  # a run that fired just before the pause
    if (export := status(jobs["export"])) != "completed":
        raise RuntimeError(f"the export job ended {export}, so there is no detail page to show")


# ---- the pictures --------------------------------------------------------------------------------


async def signed_in_page(browser: Browser, stack: Stack, scheme: str) -> Page:
    context = await browser.new_context(
        base_url=stack.gateway_url,
        viewport=VIEWPORT,  # type: ignore[arg-type]
        color_scheme=scheme,  # type: ignore[arg-type]
        locale="en-US",
        timezone_id="UTC",
    )
    page = await context.new_page()
    await page.goto("/console/jobs")
    await page.get_by_label("Admin token").fill(stack.token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    return page


async def jobs_page(page: Page, rows: int, path: Path) -> None:
    await page.goto("/console/jobs")
    await expect(page.locator("table.jobs tbody tr")).to_have_count(rows, timeout=30_000)
    await expect(page.locator("#live-state")).to_have_text("Live")
    await page.wait_for_function(
        "() => [...document.querySelectorAll('[role=tab] .count')]"
        ".every((count) => count.textContent.trim() !== '')"
    )
    await page.mouse.move(0, 0)
    await page.screenshot(path=path, full_page=True)
    say(f"  saved {path.relative_to(ROOT)}")


async def detail_page(page: Page, job_id: str, path: Path) -> None:
    await page.goto(f"/console/jobs/{job_id}")
    await expect(page.locator("#timeline li.step-success")).not_to_have_count(0)
    await expect(page.get_by_role("link", name="Download Markdown")).to_be_visible()
    await expect(page.locator("#artifacts .gallery img").first).to_be_visible()
    await page.wait_for_function(
        "() => [...document.querySelectorAll('#artifacts img')]"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    await page.locator("#artifacts details.preview summary").first.click()
    await expect(page.locator("#artifacts .preview-body table").first).to_be_visible()
    await page.mouse.move(0, 0)
    await page.screenshot(path=path, full_page=True)
    say(f"  saved {path.relative_to(ROOT)}")


async def photograph(stack: Stack, export_id: str, rows: int) -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            light = await signed_in_page(browser, stack, "light")
            await jobs_page(light, rows, IMAGES / "jobs-page.png")
            await detail_page(light, export_id, IMAGES / "job-detail.png")
            dark = await signed_in_page(browser, stack, "dark")
            await jobs_page(dark, rows, IMAGES / "jobs-page-dark.png")
        finally:
            await browser.close()


def main() -> None:
    started = time.monotonic()
    say("Starting Runwright with its demo app")
    with running_system() as stack:
        demo_url = f"http://127.0.0.1:{stack.config.demo_port}"
        headers = {"Authorization": f"Bearer {stack.token}"}
        with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as api:
            jobs = submit_jobs(api, demo_url)
            waiting = approval_and_scheduled(api, demo_url)
            say(f"  submitted the jobs; running them against the demo app at {demo_url}")
            settle_jobs(api, jobs, waiting)
            rows = len(api.get("/api/v1/jobs", params={"limit": 200}).json()["items"])
        asyncio.run(photograph(stack, jobs["export"], rows))
    say(f"Done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
