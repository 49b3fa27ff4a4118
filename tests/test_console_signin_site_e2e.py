"""The console's sign-in refuses posts from other sites: a page elsewhere that posts the sign-in
form (with a valid token: signing a victim in as the attacker) is answered 403 and sets no cookie,
in real Chromium; the console's own form still signs in."""

from __future__ import annotations

import html

import httpx
import pytest
from playwright.async_api import Page, expect
from runwright_stack.stack import Stack
from support.console import sign_in

pytestmark = pytest.mark.e2e

ELSEWHERE = "http://pages.example.test/"


async def test_a_sign_in_form_posted_from_another_site_is_refused(page: Page, stack: Stack) -> None:
    action = html.escape(f"{stack.gateway_url}/console/session")
    form = (
        f'<form method="post" action="{action}"><input name="token" '
        f'value="{html.escape(stack.token)}"><button>Go</button></form>'
    )
    await page.route(ELSEWHERE, lambda route: route.fulfill(body=form, content_type="text/html"))
    await page.goto(ELSEWHERE)
    async with page.expect_response(f"{stack.gateway_url}/console/session") as answered:
        await page.get_by_role("button", name="Go").click()
    response = await answered.value
    assert response.status == 403
    assert "another site" in await response.text()
    assert not [c for c in await page.context.cookies() if c["name"] == "runwright_session"]
    await sign_in(page, stack.token)  # the console's own form is same-origin and works
    await expect(page.get_by_role("heading", name="Jobs")).to_be_visible()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"Sec-Fetch-Site": "same-site"}, 403),  # another port of the same host is another app
        ({"Origin": "http://elsewhere.test"}, 403),
        ({"Origin": "null"}, 403),
        ({"Sec-Fetch-Site": "same-origin"}, 204),
        ({}, 204),  # not a browser: no cookie is at stake
    ],
)
def test_sign_in_answers_by_where_the_request_comes_from(
    stack: Stack, headers: dict[str, str], status: int
) -> None:
    response = httpx.post(
        f"{stack.gateway_url}/console/session", json={"token": stack.token}, headers=headers
    )
    assert response.status_code == status, response.text
    assert ("runwright_session" in response.headers.get("set-cookie", "")) == (status == 204)
