"""Webhooks in the console, in real Chromium: an Admin adds one (its secret shown once), sends a
test notice, reads the delivery log with the receiver's answer, redelivers a failed delivery,
and deletes the webhook."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_stack.stack import Stack
from support.console import sign_in
from test_webhooks import Receiver

pytestmark = pytest.mark.e2e


async def test_a_webhook_is_added_tested_redelivered_and_deleted_from_the_console(
    page: Page, stack: Stack, api: httpx.Client
) -> None:
    with Receiver(answers=[503]) as receiver:
        await sign_in(page, stack.token, "/console/webhooks")
        await page.get_by_label("URL").fill(receiver.url("/hooks/ops"))
        await page.get_by_role("button", name="Add webhook").click()
        await expect(page.get_by_label("Its signing secret")).to_have_value(re.compile("^whsec_"))
        item = page.locator("li.webhook", has_text="/hooks/ops")
        await item.get_by_role("button", name="Send test").click()
        receiver.wait_for(1)
        # The receiver answered 503 first: the retry (with backoff) delivered it.
        row = item.locator("tr[data-delivery-id]").first
        await expect(row).to_have_attribute("data-status", "delivered", timeout=30000)
        await expect(row).to_contain_text("HTTP 200")
        await expect(row.locator("td").nth(4)).to_have_text("2")
        await row.get_by_role("button", name=re.compile("^Redeliver")).click()
        receiver.wait_for(3)
        await expect(row.locator("td").nth(4)).to_have_text("3", timeout=15000)
        await item.get_by_label("approval.requested").check()
        await expect(page.locator(".toast")).to_contain_text("Hears")
        await item.get_by_role("button", name="Pause").click()
        await expect(item).to_contain_text("Paused")
        hooks = api.get("/api/v1/webhooks").json()["items"]
        (mine,) = [h for h in hooks if h["url"].endswith("/hooks/ops")]
        assert (mine["active"], mine["events"]) == (False, ["approval.requested", "job.finished"])
        await item.get_by_role("button", name="Delete").click()
        await (
            page.locator("#delete-webhook-dialog")
            .get_by_role("button", name="Delete webhook")
            .click()
        )
        await expect(item).to_have_count(0)
    assert all("/hooks/ops" not in h["url"] for h in api.get("/api/v1/webhooks").json()["items"])
