"""People in the console, in real Chromium against the real stack: joining from an invitation
link (the token only in the fragment), the header's who / role / workspace switcher, controls a
role may not use left out, and an Owner signing in with a password to invite someone, make and
revoke an API key and read those actions back in the audit log (and download it)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from playwright.async_api import Page, Route, expect
from runwright_stack.stack import Stack
from support.runbooks import runbook
from test_job_list_api_e2e import later

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = re.compile(r"^Password")  # not "Confirm password"


@dataclass(frozen=True)
class Team:
    slug: str
    other: str
    """A second workspace the Owner belongs to, for the switcher."""
    owner: str
    """The Owner's e-mail address (their password is PASSWORD)."""


def admin(stack: Stack, workspace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {stack.token}"}
    if workspace:
        headers["X-Workspace"] = workspace
    return httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers)


def invite(stack: Stack, workspace: str, email: str, role: str) -> str:
    with admin(stack, workspace) as client:
        made = client.post("/api/v1/invitations", json={"email": email, "role": role})
    assert made.status_code == 201, made.text
    assert not made.json()["mailed"]
    link: str = made.json()["link"]
    assert "/console/accept#token=" in link, link
    return link


def accept(stack: Stack, link: str, name: str) -> None:
    token = link.split("#token=", 1)[1]
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as person:
        body = {"token": token, "password": PASSWORD, "name": name}
        answer = person.post("/api/v1/invitations/accept", json=body)
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def team(stack: Stack) -> Team:
    """A new workspace with an Owner (invited by the admin token, password set), who is also
    an Owner of a second workspace joined later."""
    slug, other = f"crew-{uuid.uuid4().hex[:8]}", f"side-{uuid.uuid4().hex[:8]}"
    with admin(stack) as client:
        for name in (slug, other):
            made = client.post("/api/v1/workspaces", json={"slug": name, "name": name.title()})
            assert made.status_code == 201, made.text
    owner = f"owner-{uuid.uuid4().hex[:6]}@example.test"
    accept(stack, invite(stack, slug, owner, "owner"), "Olga Owner")
    accept(stack, invite(stack, other, owner, "owner"), "Olga Owner")
    return Team(slug, other, owner)


@asynccontextmanager
async def another_browser(page: Page, stack: Stack) -> AsyncIterator[Page]:
    """A second person at the same console: a context of its own (its own cookies, storage)."""
    browser = page.context.browser
    assert browser is not None
    context = await browser.new_context(base_url=stack.gateway_url)
    context.set_default_timeout(30000)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def join(page: Page, link: str, name: str) -> None:
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Accept your invitation")).to_be_visible()
    assert "token" not in page.url, "the token leaves the address bar at once"
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label(NEW_PASSWORD).fill(PASSWORD)
    await page.get_by_label("Confirm password").fill(PASSWORD)
    await page.get_by_role("button", name="Join workspace").click()
    await expect(page).to_have_url(re.compile(r"/console/jobs$"))
    await expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()


def scheduled_job(stack: Stack, workspace: str) -> str:
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url="about:blank")
    document["title"] = "Looked at, not touched"
    with admin(stack, workspace) as client:
        made = client.post("/api/v1/jobs", json={"runbook": document, "run_at": later()})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def test_a_member_and_a_viewer_join_from_their_links_and_see_only_what_they_may_use(
    page: Page, stack: Stack, team: Team
) -> None:
    member_link = invite(stack, team.slug, f"mia-{uuid.uuid4().hex[:6]}@example.test", "member")
    await page.goto(member_link)
    await page.get_by_label(NEW_PASSWORD).fill(PASSWORD)
    await page.get_by_label("Confirm password").fill(PASSWORD + "!")
    await page.get_by_role("button", name="Join workspace").click()
    await expect(page.locator("#accept-confirm-error")).to_have_text("The two passwords differ.")
    await expect(page.get_by_label("Confirm password")).to_be_focused()

    await join(page, member_link, "Mia Member")
    switcher = page.get_by_label("Workspace")
    await expect(switcher).to_be_visible()
    await expect(switcher).to_have_value(team.slug)
    await expect(page.locator("#account-name")).to_have_text("Mia Member")
    await expect(page.locator("#account-role")).to_have_text("Member")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="New job")).to_be_visible()
    await expect(nav.get_by_role("link", name="API keys")).to_have_count(0)
    await nav.get_by_role("link", name="Team").click()
    await expect(page.get_by_role("cell", name="Mia Member")).to_be_visible()
    await expect(page.get_by_role("button", name="Invite")).to_have_count(0)
    await expect(page.locator("table.people select")).to_have_count(0)

    # The link was used: opening it again says so plainly.
    await page.goto(member_link)
    await page.get_by_label(NEW_PASSWORD).fill(PASSWORD)
    await page.get_by_label("Confirm password").fill(PASSWORD)
    await page.get_by_role("button", name="Join workspace").click()
    await expect(page.locator("#accept-dead")).to_contain_text("does not work")

    job_id = scheduled_job(stack, team.slug)
    try:
        viewer_link = invite(stack, team.slug, f"vic-{uuid.uuid4().hex[:6]}@example.test", "viewer")
        async with another_browser(page, stack) as viewer:
            await join(viewer, viewer_link, "Vic Viewer")
            await expect(viewer.locator("#account-role")).to_have_text("Viewer")
            await expect(viewer.locator(f'tr[data-job-id="{job_id}"]')).to_be_visible()
            nav = viewer.get_by_role("navigation", name="Main")
            await expect(nav.get_by_role("link", name="New job")).to_have_count(0)
            await viewer.goto(f"/console/jobs/{job_id}")
            await expect(viewer.locator("#job-status .badge")).to_have_text("Scheduled")
            await expect(viewer.locator("#job-read-only")).to_be_visible()
            await expect(viewer.get_by_role("button", name="Cancel", exact=True)).to_have_count(0)
            await viewer.goto("/console/new")
            await expect(viewer.get_by_text("may look at jobs but not submit them")).to_be_visible()
            await expect(viewer.get_by_role("button", name="Submit job")).to_have_count(0)
    finally:
        with admin(stack, team.slug) as client:
            client.post(f"/api/v1/jobs/{job_id}/cancel")


async def test_an_owner_signs_in_invites_makes_and_revokes_a_key_and_reads_the_audit_log(
    page: Page, stack: Stack, team: Team
) -> None:
    await page.goto("/")
    await page.get_by_label("E-mail").fill(team.owner)
    await page.get_by_label("Password", exact=True).fill("not the password at all")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "The e-mail address or the password is not right."
    )
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await expect(page.locator("#account-name")).to_have_text("Olga Owner")
    await expect(page.locator("#account-role")).to_have_text("Owner")
    await expect(page.get_by_label("Workspace")).to_have_value(team.slug)

    nav = page.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Team").click()
    newcomer = f"dev-{uuid.uuid4().hex[:6]}@example.test"
    await page.get_by_label("E-mail").fill(newcomer)
    role = page.get_by_label("Role", exact=True)
    assert await role.locator("option").all_inner_texts() == [
        "Owner",
        "Admin",
        "Developer",
        "Member",
        "Viewer",
    ]
    await role.select_option("developer")
    await page.get_by_role("button", name="Invite").click()
    link = page.get_by_label(f"Invitation link for {newcomer}")
    await expect(link).to_have_value(re.compile(r"/console/accept#token=inv_"))
    invited = page.locator(f'tr[data-email="{newcomer}"][data-status="pending"]')
    await expect(invited).to_contain_text("Developer")

    await nav.get_by_role("link", name="API keys").click()
    await page.get_by_label("Name").fill("ci-bot")
    await page.get_by_label("Role").select_option("member")
    await page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The new API key")
    await expect(secret).to_have_value(re.compile(r"^rw_"))
    await expect(page.get_by_text("it will not be shown again")).to_be_visible()
    row = page.locator('tr[data-name="ci-bot"]')
    await expect(row).to_have_attribute("data-status", "active")
    await page.get_by_role("button", name="Done, hide it").click()
    await expect(secret).to_have_count(0)
    await row.get_by_role("button", name="Revoke ci-bot").click()
    await page.locator("#revoke-key-dialog").get_by_role("button", name="Revoke key").click()
    await expect(row).to_have_attribute("data-status", "revoked")

    await nav.get_by_role("link", name="Audit").click()
    await page.get_by_label("Actor").fill(f"user:{team.owner}")
    await page.get_by_role("button", name="Apply filters").click()
    for action in ("invitation.create", "key.create", "key.delete"):
        await expect(page.locator(f'tbody tr[data-action="{action}"]').first).to_be_visible()
    actors = await page.locator("td.audit-actor").all_inner_texts()
    assert actors
    assert set(actors) == {f"user:{team.owner}"}
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download CSV").click()
    csv = (await (await downloading.value).path()).read_text()
    assert "key.delete" in csv
    assert csv.splitlines()[0].startswith("id,at,workspace,actor,action")

    # The switcher acts in the other workspace (kept with the session), remembered on reload.
    await page.get_by_label("Workspace").select_option(team.other)
    await expect(page.locator("#account-role")).to_have_text("Owner")
    await expect(page.locator('tbody tr[data-action="key.create"]')).to_have_count(0)
    await nav.get_by_role("link", name="Team").click()
    await expect(page.locator(".page-head")).to_contain_text(team.other)
    await page.reload()
    await expect(page.get_by_label("Workspace")).to_have_value(team.other)
    await expect(page.locator(".page-head")).to_contain_text(team.other)
    await expect(page.locator(f'tr[data-email="{newcomer}"]')).to_have_count(0)


async def sign_in_as_owner(page: Page, team: Team) -> None:
    await page.goto("/")
    await page.get_by_label("E-mail").fill(team.owner)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("Workspace")).to_have_value(team.slug)


async def test_after_a_switch_the_live_list_the_job_stream_and_downloads_act_in_the_pick(
    page: Page, stack: Stack, team: Team
) -> None:
    await sign_in_as_owner(page, team)
    await page.get_by_label("Workspace").select_option(team.other)
    await expect(page.locator(".toast")).to_contain_text(team.other)
    await expect(page.get_by_role("heading", name="Jobs", exact=True)).to_be_visible()

    # Made after the page loaded: it can only arrive over the live stream (an EventSource).
    job_id = scheduled_job(stack, team.other)
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    await expect(row).to_be_visible()
    await page.goto(f"/console/jobs/{job_id}")
    await expect(page.locator("#job-status .badge")).to_have_text("Scheduled")
    with admin(stack, team.other) as client:
        assert client.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 200
    await expect(page.locator("#job-status .badge")).to_have_text("Cancelled")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="Download Markdown").click()
    report = (await (await downloading.value).path()).read_text()
    assert report.startswith("# Looked at, not touched")
    assert "cancelled" in report

    # Another tab of this browser follows a switch made here, so no tab acts where it does not
    # show; a job page of the workspace left gives way to the new workspace's jobs.
    other_tab = await page.context.new_page()
    await other_tab.goto("/console/jobs")
    await expect(other_tab.get_by_label("Workspace")).to_have_value(team.other)
    await page.get_by_label("Workspace").select_option(team.slug)
    await expect(page).to_have_url(re.compile(r"/console/jobs$"))
    await expect(other_tab.get_by_label("Workspace")).to_have_value(team.slug)
    await expect(other_tab.locator(f'tr[data-job-id="{job_id}"]')).to_have_count(0)
    await other_tab.close()


async def test_sign_in_says_when_to_try_again_after_too_many_attempts(
    page: Page, stack: Stack
) -> None:
    # Answered here, so the gateway's real limit (shared by the whole run) stays untouched.
    async def limited(route: Route) -> None:
        if route.request.method != "POST":
            await route.fallback()
            return
        await route.fulfill(status=429, headers={"Retry-After": "17"}, json={"title": "Limited"})

    await page.route(f"{stack.gateway_url}/console/session", limited)
    await page.goto("/")
    await page.get_by_label("E-mail").fill("someone@example.test")
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Too many attempts; try again in 17 s.")
    await expect(page.get_by_label("Password", exact=True)).to_be_focused()
