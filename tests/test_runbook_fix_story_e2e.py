"""The issue's story in one Chromium run: a runbook is created in the console, published and run
from its page; the site changed, so a step fails and the job is held; the step is fixed in the
live browser (what was typed before the failure is still there) and the job completes; the fix is
saved as version 2 and published, the next run uses it, and the two runs are compared."""

from __future__ import annotations

import json
import re
import uuid

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_stack.stack import Stack
from support.console import set_editor, sign_in

pytestmark = pytest.mark.e2e


def yaml_text(demo_url: str) -> str:
    return f"""\
title: Sign in and continue
settings:
  baseUrl: {demo_url}
  defaultTimeout: 1500
metadata:
  startUrl: {demo_url}
x-runwright:
  onFailure: hold
steps:
  - ordinal: 0
    description: Open the sign-in page
    action: {{type: navigate, url: /login}}
  - ordinal: 1
    description: Type the e-mail address
    action: {{type: input, selector: {{id: email}}, value: kept@example.com}}
  - ordinal: 2
    description: Press continue
    action: {{type: click, selector: {{id: continue-button}}}}
  - ordinal: 3
    description: Read the e-mail field back
    action: {{type: extract, script: "document.querySelector('#email').value"}}
    captures:
      - {{name: email, strategy: expression, expression: "{{{{__extracted}}}}"}}
"""


async def test_a_runbook_breaks_is_held_fixed_live_saved_as_version_2_and_run_again(
    page: Page, stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    slug = f"signin-{uuid.uuid4().hex[:6]}"
    await sign_in(page, stack.token, "/console/runbooks")
    await page.get_by_label("Slug").fill(slug)
    # The editor checks as you type: a broken step is marked at its line.
    broken = yaml_text(demo_url).replace(
        "type: click, selector: {id: continue-button}", "type: click"
    )
    await set_editor(page, "new-runbook-yaml", broken)
    marked = page.locator("#new-runbook-errors li")
    await expect(marked).to_contain_text("steps[2].action.selector")
    await expect(marked).to_have_attribute("data-line", "18")  # step 3's action line
    await expect(page.locator(".CodeMirror .cm-error-line")).to_have_count(1)
    await set_editor(page, "new-runbook-yaml", yaml_text(demo_url))
    await expect(marked).to_have_count(0)
    await page.get_by_role("button", name="Create runbook").click()
    await expect(page.get_by_role("heading", name="Sign in and continue", level=1)).to_be_visible()
    await page.get_by_role("button", name="Publish version 1").click()
    await page.get_by_role("button", name="Run version 1").click()
    await expect(page).to_have_url(re.compile(r"/console/jobs/[0-9a-f-]{36}$"))
    first = page.url.rsplit("/", 1)[1]

    # The button moved: the step fails and the job is held, the fix panel open.
    fix = page.get_by_role("dialog", name=re.compile("Step 3 failed"))
    await expect(fix).to_be_visible(timeout=60000)
    await expect(page.locator("#job-status .badge")).to_have_text("Waiting for approval")
    await fix.get_by_text("Diagnostics").click()
    await expect(fix).to_contain_text("Selector strategies tried")
    editor = fix.get_by_label(re.compile("The step"))
    step = json.loads(await editor.input_value())
    assert step["action"]["selector"] == {"id": "continue-button"}
    step["action"]["selector"] = {"id": "email"}
    await editor.fill(json.dumps(step))
    await fix.get_by_role("button", name="Retry with my edit").click()
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=60000)
    done = api.get(f"/api/v1/jobs/{first}").json()
    assert done["steps"][3]["captured"] == {"email": "kept@example.com"}, "the same page"
    await expect(page.locator("#activity")).to_contain_text("retried by admin")

    await page.get_by_role("button", name="Save the fix as a new draft").click()
    await expect(page.locator("#again")).to_contain_text("Saved as version 2")
    await page.locator("#again").get_by_role("link", name=slug).click()
    await page.get_by_role("button", name="Changes in version 2").click()
    await expect(page.locator("pre.diff")).to_contain_text("email")
    await page.get_by_role("button", name="Publish version 2").click()
    await page.get_by_role("button", name="Run version 2").click()
    await expect(page.locator("#job-status .badge")).to_have_text("Completed", timeout=60000)
    await expect(page.locator("#job-runbook")).to_have_text(f"Runbook: {slug}, version 2")
    await page.get_by_role("button", name="Compare with the previous run").click()
    await expect(page.locator("#comparison")).to_contain_text("version 1")

    await page.get_by_role("link", name="Runbooks").click()
    await expect(page.locator(f'tr[data-slug="{slug}"] .run-strip a')).to_have_count(2)
