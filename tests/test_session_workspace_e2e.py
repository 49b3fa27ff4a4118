"""The workspace a console session acts in: the person's pick (``PATCH /console/session``) is kept
with the session, so every request that names no workspace acts there, including the event
streams, images and downloads a browser fetches by itself and cannot add a header to. The pick
is a preference, never a grant: a workspace the caller may not use answers 404 and changes
nothing, and one the person was removed from is dropped."""

from __future__ import annotations

import threading
import uuid
from contextlib import closing
from typing import Any

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import Event, read_events
from test_job_list_api_e2e import later
from test_people_e2e import PASSWORD, bearer, browser, invite, sql, token_of

pytestmark = pytest.mark.e2e


def new_workspace(stack: Stack) -> str:
    slug = f"pick-{uuid.uuid4().hex[:8]}"
    with bearer(stack, stack.token) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    return slug


def person_in(stack: Stack, *spaces: tuple[str, str]) -> tuple[httpx.Client, str]:
    """A person with a role in each ``(workspace, role)``, signed in with a password, their
    session started by a plain sign-in (so it acts in their first workspace)."""
    email = f"pick-{uuid.uuid4().hex[:6]}@example.test"
    for workspace, role in spaces:
        link = invite(stack, workspace, email, role)["link"]
        with browser(stack) as joining:
            body = {"token": token_of(link), "password": PASSWORD, "name": "Pat"}
            assert joining.post("/api/v1/invitations/accept", json=body).status_code == 200
    person = browser(stack)
    signed = person.post("/console/session", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 204, signed.text
    return person, email


def scheduled(stack: Stack, workspace: str) -> str:
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url="about:blank")
    with bearer(stack, stack.token, workspace) as admin:
        made = admin.post("/api/v1/jobs", json={"runbook": document, "run_at": later()})
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def switch(client: httpx.Client, workspace: Any, **headers: str) -> httpx.Response:
    return client.patch("/console/session", json={"workspace": workspace}, headers=headers)


def test_the_picked_workspace_holds_for_every_request_that_names_none(stack: Stack) -> None:
    first, second = new_workspace(stack), new_workspace(stack)
    person, _ = person_in(stack, (first, "member"), (second, "viewer"))
    mine, theirs = scheduled(stack, second), scheduled(stack, first)
    with closing(person):
        assert person.get("/api/v1/me").json()["workspace"] == first
        assert person.get(f"/api/v1/jobs/{mine}").status_code == 404

        picked = switch(person, second)
        assert picked.status_code == 200, picked.text
        assert picked.json() == {"workspace": second, "role": "viewer"}
        me = person.get("/api/v1/me").json()
        assert (me["workspace"], me["role"]) == (second, "viewer")
        listed = [job["id"] for job in person.get("/api/v1/jobs").json()["items"]]
        assert mine in listed
        assert theirs not in listed
        # What a browser fetches by itself: a job's event stream and its report link.
        with bearer(stack, stack.token, second) as admin:
            assert admin.post(f"/api/v1/jobs/{mine}/cancel").status_code == 200
        assert person.get(f"/api/v1/jobs/{mine}/report.md").status_code == 200
        status, events = read_events(person, f"/api/v1/jobs/{mine}/events", timeout=30)
        assert status == 200
        assert [e.data.get("status") for e in events if e.event == "status"][-1] == "cancelled"
        # The header still names a workspace for one request, and the pick stays.
        assert person.get("/api/v1/me", headers={"X-Workspace": first}).json()["role"] == "member"
        assert person.get("/api/v1/me").json()["workspace"] == second
        # A Viewer there: the pick grants nothing the role does not.
        assert person.post(f"/api/v1/jobs/{mine}/cancel").status_code == 403


def test_the_workspace_stream_follows_the_pick(stack: Stack) -> None:
    first, second = new_workspace(stack), new_workspace(stack)
    person, _ = person_in(stack, (first, "member"), (second, "member"))
    seen: list[str] = []

    def submit_and_cancel() -> None:
        with bearer(stack, stack.token, first) as admin:
            elsewhere = scheduled(stack, first)
            admin.post(f"/api/v1/jobs/{elsewhere}/cancel")
        job = scheduled(stack, second)
        seen.append(job)
        with bearer(stack, stack.token, second) as admin:
            admin.post(f"/api/v1/jobs/{job}/cancel")

    worker = threading.Thread(target=submit_and_cancel)

    def heard(event: Event) -> bool:
        if event.event == "ready":
            worker.start()  # the stream is subscribed: what happens now reaches it
        return event.event == "status" and event.data["status"] == "cancelled"

    with closing(person):
        assert switch(person, second).status_code == 200
        status, events = read_events(
            person, "/api/v1/events?types=status", timeout=30, frames=True, until=heard
        )
        worker.join()
    events = [e for e in events if e.event == "status"]
    assert status == 200
    assert {e.data["job_id"] for e in events} == set(seen), "only the picked workspace's jobs"


def test_a_pick_the_caller_may_not_use_is_404_and_a_removal_drops_it(stack: Stack) -> None:
    first, second, foreign = new_workspace(stack), new_workspace(stack), new_workspace(stack)
    person, email = person_in(stack, (first, "member"), (second, "member"))
    with closing(person):
        assert switch(person, second).status_code == 200
        refused = switch(person, foreign)
        assert refused.status_code == 404
        assert person.get("/api/v1/me").json()["workspace"] == second, "the pick is unchanged"
        assert switch(person, "no-such-space").status_code == 404

        with bearer(stack, stack.token, second) as admin:
            user_id = person.get("/api/v1/me").json()["user"]["id"]
            assert admin.delete(f"/api/v1/members/{user_id}").status_code == 204
        # Removal ends the person's sessions; a new one remembers nothing of the old pick.
        assert person.get("/api/v1/me").status_code == 401
        signed = person.post("/console/session", json={"email": email, "password": PASSWORD})
        assert signed.status_code == 204
        assert person.get("/api/v1/me").json()["workspace"] == first


async def test_a_pick_the_person_lost_falls_back_to_their_first_workspace(stack: Stack) -> None:
    first, second = new_workspace(stack), new_workspace(stack)
    person, _ = person_in(stack, (first, "member"), (second, "member"))
    with closing(person):
        assert switch(person, second).status_code == 200
        user_id = person.get("/api/v1/me").json()["user"]["id"]
        # As if removed by a path that left the session alive (the membership alone is gone).
        await sql(
            stack,
            "DELETE FROM gateway.memberships WHERE workspace = $1 AND user_id = $2",
            second,
            uuid.UUID(user_id),
        )
        assert person.get("/api/v1/me").json()["workspace"] == first


def test_keys_and_the_admin_token_pick_only_what_they_may_use(stack: Stack) -> None:
    first, second = new_workspace(stack), new_workspace(stack)
    with bearer(stack, stack.token, first) as owner:
        key = owner.post(
            "/api/v1/keys", json={"name": f"k-{uuid.uuid4().hex[:6]}", "role": "member"}
        )
    assert key.status_code == 201, key.text
    with browser(stack) as console:
        assert (
            console.post("/console/session", json={"token": key.json()["key"]}).status_code == 204
        )
        assert switch(console, second).status_code == 404, "a key acts in its own workspace"
        assert switch(console, first).status_code == 200
    with browser(stack) as console:
        assert console.post("/console/session", json={"token": stack.token}).status_code == 204
        assert console.get("/api/v1/me").json()["workspace"] == "default"
        assert switch(console, second).json()["role"] == "owner"
        assert console.get("/api/v1/me").json()["workspace"] == second


async def test_bad_picks_are_4xx_naming_the_field_and_change_nothing(stack: Stack) -> None:
    first, second = new_workspace(stack), new_workspace(stack)
    person, _ = person_in(stack, (first, "member"), (second, "member"))
    with closing(person):
        for body, status in (
            ({}, 422),
            ({"workspace": 7}, 422),
            ({"workspace": second, "extra": 1}, 422),
            ({"workspace": ""}, 422),
            ({"workspace": "a\x00b"}, 422),
            ({"workspace": "x" * 100}, 422),
        ):
            answer = person.patch("/console/session", json=body)
            assert answer.status_code == status, (body, answer.text)
            assert "workspace" in answer.text or "extra" in answer.text, answer.text
        not_utf8 = person.patch(
            "/console/session",
            content=b'{"workspace": "\xff"}',
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= not_utf8.status_code < 500
        cross = switch(
            person, second, Origin="https://evil.example", **{"Sec-Fetch-Site": "cross-site"}
        )
        assert cross.status_code == 403
        assert person.get("/api/v1/me").json()["workspace"] == first, "nothing was changed"
    with browser(stack) as nobody:
        assert switch(nobody, first).status_code == 401


def test_a_sign_in_with_both_a_password_and_a_token_is_refused_naming_the_field(
    stack: Stack,
) -> None:
    with browser(stack) as console:
        both = {"email": "x@example.test", "password": PASSWORD, "token": stack.token}
        answer = console.post("/console/session", json=both)
        assert answer.status_code == 422
        assert answer.json()["errors"][0]["field"] == "token"
        assert "runwright_session" not in console.cookies
