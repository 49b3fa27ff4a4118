"""Driving the web console in tests: signing in and finding a job's row."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect


async def sign_in(page: Page, token: str, path: str = "/") -> None:
    await page.goto(path)
    await page.get_by_label("Admin token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def row(page: Page, job_id: str) -> Locator:
    return page.locator(f'tr[data-job-id="{job_id}"]')
