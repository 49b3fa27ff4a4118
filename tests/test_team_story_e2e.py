"""A new team's first day, walked in one go in real Chromium against the real stack, as the issue's
story tells it: the installation's admin token (what ``make run`` hands the first Owner) invites
the Owner; the Owner makes a second workspace from the console and invites a Member and a Viewer
there; the Member submits a job whose runbook asks for four eyes and reads that another person
must approve; the Viewer reads it and cannot act; the Owner approves it from the console and it
completes; a key of the other workspace sees none of it; and the Owner's Audit page tells every
step of the story with its actor."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
import yaml
from playwright.async_api import Page, expect
from runwright_stack.stack import Stack
from support.console import sign_in
from support.runbooks import approval_runbook, runbook
from test_console_people_e2e import PASSWORD, another_browser, join

pytestmark = pytest.mark.e2e


async def invite_from_team(page: Page, email: str, role: str) -> str:
    """Invite ``email`` as ``role`` on the Team page; answers the link it shows."""
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Role", exact=True).select_option(role)
    await page.get_by_role("button", name="Invite").click()
    link = page.get_by_label(f"Invitation link for {email}")
    await expect(link).to_have_value(re.compile(r"/console/accept#token=inv_"))
    return await link.input_value()


def four_eyes_yaml(demo_url: str) -> str:
    document = runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000)
    document["title"] = "Pay the supplier"
    document["x-runwright"] = {"approval": {"fourEyes": True}}
    return yaml.safe_dump(document, sort_keys=False)


async def test_a_new_team_from_the_first_owner_to_an_approved_four_eyes_job(
    page: Page, stack: Stack, demo_url: str
) -> None:
    tag = uuid.uuid4().hex[:6]
    owner_email, member_email, viewer_email = (
        f"{who}-{tag}@example.test" for who in ("olga", "mia", "vic")
    )
    slug = f"payments-{tag}"

    # The bootstrap: the admin token signs in and, on Team, invites the first Owner.
    await sign_in(page, stack.token, "/console/team")
    owner_link = await invite_from_team(page, owner_email, "owner")

    async with another_browser(page, stack) as owner:
        await join(owner, owner_link, "Olga Owner")
        await expect(owner.locator("#account-role")).to_have_text("Owner")

        # The Owner makes a second workspace from the account menu; the console moves there.
        await owner.locator("#account-menu summary").click()
        await owner.get_by_role("button", name="New workspace…").click()
        dialog = owner.get_by_role("dialog", name="New workspace")
        await dialog.get_by_label("Name").fill(f"Payments {tag}")
        await expect(dialog.get_by_label("Slug")).to_have_value(slug)
        await dialog.get_by_role("button", name="Create workspace").click()
        await expect(dialog).to_have_count(0)
        await expect(owner.get_by_label("Workspace", exact=True)).to_have_value(slug)
        await expect(owner.get_by_role("heading", name="Team")).to_be_visible()
        await expect(owner.locator(".page-head")).to_contain_text(slug)
        member_link = await invite_from_team(owner, member_email, "member")
        viewer_link = await invite_from_team(owner, viewer_email, "viewer")

        async with (
            another_browser(page, stack) as member,
            another_browser(page, stack) as viewer,
        ):
            # The Member submits the four-eyes job from the New job page.
            await join(member, member_link, "Mia Member")
            await expect(member.get_by_label("Workspace")).to_have_value(slug)
            await member.goto("/console/new")
            await member.get_by_label("Runbook YAML").fill(four_eyes_yaml(demo_url))
            await expect(member.locator("#nj-runbook-status")).to_contain_text("Valid")
            await member.get_by_role("button", name="Submit job").click()
            await expect(member).to_have_url(re.compile(r"/console/jobs/[0-9a-f-]{36}$"))
            job_id = member.url.rsplit("/", 1)[1]
            status = member.locator("#job-status .badge")
            await expect(status).to_have_text("Waiting for approval", timeout=60000)
            # Four eyes: the dialog tells the submitter that another person must approve.
            asked = member.get_by_role("dialog", name="Approval required")
            await expect(asked).to_be_visible()
            await expect(asked.locator("#approval-why-not")).to_contain_text(
                re.compile("another person", re.I)
            )
            await expect(asked.get_by_role("button", name="Approve")).to_be_disabled()
            await expect(asked.get_by_role("button", name="Reject")).to_be_enabled()
            await asked.press("Escape")

            # The Viewer reads the job and is offered nothing to do.
            await join(viewer, viewer_link, "Vic Viewer")
            await expect(viewer.locator(f'tr[data-job-id="{job_id}"]')).to_be_visible()
            await viewer.goto(f"/console/jobs/{job_id}")
            await expect(viewer.locator("#job-status .badge")).to_have_text("Waiting for approval")
            await expect(viewer.locator("#job-read-only")).to_be_visible()
            await expect(viewer.get_by_role("button", name="Approve")).to_have_count(0)
            await expect(viewer.get_by_role("dialog", name="Approval required")).to_have_count(0)

            # The Owner approves from the console; everyone's page shows it complete, live.
            await owner.goto(f"/console/jobs/{job_id}")
            deciding = owner.get_by_role("dialog", name="Approval required")
            await expect(deciding).to_contain_text("Who may decide")
            await expect(deciding).to_contain_text(f"{member_email} submitted this job")
            await expect(deciding.get_by_role("button", name="Approve")).to_be_enabled()
            await deciding.get_by_role("button", name="Approve").click()
            for seen in (owner, member, viewer):
                await expect(seen.locator("#job-status .badge")).to_have_text(
                    "Completed", timeout=60000
                )
            # The job page tells who did what: the submitter, and every action with its actor.
            await expect(viewer.locator("#job-submitter")).to_contain_text(member_email)
            activity = viewer.locator("#activity")
            await expect(activity).to_contain_text(f"Submitted (queued) by {member_email}")
            await expect(activity).to_contain_text(f"Approval of step 2 approved by {owner_email}")
            await expect(activity.locator("li").last).to_contain_text("Completed")

        # A key of the other workspace sees none of it.
        with httpx.Client(
            base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.token}"}
        ) as installation:
            key = installation.post(
                "/api/v1/keys", json={"name": f"outsider-{tag}", "role": "admin"}
            )
            assert key.status_code == 201, key.text
        with httpx.Client(
            base_url=stack.gateway_url,
            headers={"Authorization": f"Bearer {key.json()['key']}"},
            timeout=30,
        ) as outsider:
            assert outsider.get(f"/api/v1/jobs/{job_id}").status_code == 404
            assert outsider.get(f"/api/v1/jobs/{job_id}/events").status_code == 404
            listed = outsider.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
            assert job_id not in {job["id"] for job in listed}
            assert outsider.get("/api/v1/audit", params={"target": job_id}).json()["items"] == []
            assert outsider.get("/api/v1/jobs", headers={"X-Workspace": slug}).status_code == 404

        # The Owner's Audit page: every step of the story, each with its actor.
        await owner.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
        await expect(owner.locator("tbody tr").first).to_be_visible()
        rows = owner.locator("tbody tr")
        story = set()
        for index in range(await rows.count()):
            item = rows.nth(index)
            story.add(
                (
                    await item.get_attribute("data-action"),
                    await item.locator("td.audit-actor").inner_text(),
                    await item.get_attribute("data-outcome"),
                )
            )
        owner_actor, member_actor = f"user:{owner_email}", f"user:{member_email}"
        expected = {
            ("workspace.create", owner_actor, "ok"),
            ("invitation.create", owner_actor, "ok"),
            ("invitation.accept", member_actor, "ok"),
            ("invitation.accept", f"user:{viewer_email}", "ok"),
            ("job.create", member_actor, "ok"),
            ("job.approve", owner_actor, "ok"),
        }
        assert expected <= story, sorted(story)
        # The Member's password is theirs alone: nothing of it reached the log.
        assert PASSWORD not in await owner.locator("main").inner_text()
