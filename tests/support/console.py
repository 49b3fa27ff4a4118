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


async def set_editor(page: Page, textarea_id: str, text: str) -> None:
    """Type into the runbook editor (CodeMirror) that replaced ``#textarea_id``."""
    await page.wait_for_selector(f"#{textarea_id} + .CodeMirror")
    await page.evaluate(
        "([id, text]) => document.getElementById(id).nextElementSibling.CodeMirror.setValue(text)",
        [textarea_id, text],
    )


async def editor_text(page: Page, textarea_id: str) -> str:
    await page.wait_for_selector(f"#{textarea_id} + .CodeMirror")
    text: str = await page.evaluate(
        "(id) => document.getElementById(id).nextElementSibling.CodeMirror.getValue()",
        textarea_id,
    )
    return text
