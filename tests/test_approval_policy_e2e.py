"""The approval service owns approvals, through the real stack: the runbook's approver policy
(four eyes, N distinct approvals, named users, roles), decisions recorded with their outcome,
exactly one winner when people race approve, reject and cancel, and Slack's Approve and Reject
buttons deciding as the linked person."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import approval_runbook, runbook
from test_people_e2e import bearer, join, sql
from test_webhooks import Receiver

pytestmark = pytest.mark.e2e

SLACK_SECRET = "test-slack-signing-secret"
TERMINAL = ("completed", "failed", "cancelled")


@pytest.fixture(scope="module")
def team(stack: Stack) -> Iterator[dict[str, Any]]:
    """A workspace with three members, a viewer, and their signed-in clients."""
    slug = f"ap-{uuid.uuid4().hex[:8]}"
    with bearer(stack, stack.token) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    people: dict[str, Any] = {"slug": slug}
    for name, role in (("ada", "member"), ("bob", "member"), ("cy", "member"), ("vi", "viewer")):
        people[name], people[f"{name}_email"] = join(stack, slug, role)
    yield people
    for name in ("ada", "bob", "cy", "vi"):
        people[name].close()


def submit(person: httpx.Client, demo_url: str, policy: dict[str, Any] | None = None) -> str:
    document = runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000)
    if policy is not None:
        document["x-runwright"] = {"approval": policy}
    made = person.post("/api/v1/jobs", json={"runbook": document})
    assert made.status_code == 201, made.text
    job_id: str = made.json()["id"]
    return job_id


def wait_status(person: httpx.Client, job_id: str, wanted: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        job: dict[str, Any] = person.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in wanted:
            return job
        assert time.monotonic() < deadline, job["status"]
        assert job["status"] not in TERMINAL, job
        time.sleep(0.1)


def waiting(person: httpx.Client, job_id: str) -> dict[str, Any]:
    return wait_status(person, job_id, ("waiting_for_approval",))


def finished(person: httpx.Client, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        job: dict[str, Any] = person.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in TERMINAL:
            return job
        assert time.monotonic() < deadline, job["status"]
        time.sleep(0.1)


def decisions(stack: Stack, job_id: str) -> list[tuple[str, str, str, str | None]]:
    rows = asyncio.run(
        sql(
            stack,
            "SELECT actor, action, outcome, why FROM approval.decisions WHERE job_id = $1 "
            "ORDER BY decided_at",
            uuid.UUID(job_id),
        )
    )
    return [(r["actor"], r["action"], r["outcome"], r["why"]) for r in rows]


def test_four_eyes_refuses_the_submitter_and_another_member_approves(
    stack: Stack, team: dict[str, Any], demo_url: str
) -> None:
    ada, bob = team["ada"], team["bob"]
    job_id = submit(ada, demo_url, {"fourEyes": True})
    waiting(ada, job_id)
    dialog = ada.get(f"/api/v1/jobs/{job_id}/approval").json()
    assert dialog["pending"] is True
    assert (dialog["can_decide"], dialog["why_not"]) == (False, "four_eyes")
    assert "another person must approve" in dialog["message"].lower()
    assert dialog["can_reject"] is True
    assert dialog["policy"]["four_eyes"] is True
    assert dialog["submitted_by"] == f"user:{team['ada_email']}"
    own = ada.post(f"/api/v1/jobs/{job_id}/approve")
    assert own.status_code == 403, own.text
    assert own.json()["why"] == "four_eyes"
    assert ada.get(f"/api/v1/jobs/{job_id}").json()["status"] == "waiting_for_approval"
    other = bob.get(f"/api/v1/jobs/{job_id}/approval").json()
    assert (other["can_decide"], other["why_not"]) == (True, None)
    approved = bob.post(f"/api/v1/jobs/{job_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["approvals"] == {"required": 1, "given": 1}
    assert finished(bob, job_id)["status"] == "completed"
    assert decisions(stack, job_id) == [
        (f"user:{team['ada_email']}", "approve", "refused", "four_eyes"),
        (f"user:{team['bob_email']}", "approve", "applied", None),
    ]
    after = ada.get(f"/api/v1/jobs/{job_id}/approval").json()
    assert (after["pending"], after["why_not"]) == (False, "not_waiting")
    assert [d["outcome"] for d in after["decisions"]] == ["refused", "applied"]


def test_two_approvals_need_two_people_and_a_viewer_decides_nothing(
    stack: Stack, team: dict[str, Any], demo_url: str
) -> None:
    ada, bob, cy, vi = team["ada"], team["bob"], team["cy"], team["vi"]
    job_id = submit(ada, demo_url, {"approvals": 2})
    waiting(ada, job_id)
    assert vi.post(f"/api/v1/jobs/{job_id}/approve").status_code == 403
    first = bob.post(f"/api/v1/jobs/{job_id}/approve")
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "waiting_for_approval"
    assert first.json()["approvals"] == {"required": 2, "given": 1}
    again = bob.post(f"/api/v1/jobs/{job_id}/approve")
    assert again.status_code == 202
    assert again.json()["approvals"] == {"required": 2, "given": 1}, "the same person counts once"
    dialog = bob.get(f"/api/v1/jobs/{job_id}/approval").json()
    assert (dialog["can_decide"], dialog["why_not"]) == (False, "already_approved")
    assert (dialog["required"], dialog["given"]) == (2, 1)
    assert cy.get(f"/api/v1/jobs/{job_id}/approval").json()["can_decide"] is True
    viewer = vi.get(f"/api/v1/jobs/{job_id}/approval").json()
    assert (viewer["can_decide"], viewer["why_not"]) == (False, "role")
    second = cy.post(f"/api/v1/jobs/{job_id}/approve")
    assert second.status_code == 200, second.text
    assert second.json()["approvals"] == {"required": 2, "given": 2}
    assert finished(cy, job_id)["status"] == "completed"
    outcomes = [(a, o) for a, _, o, _ in decisions(stack, job_id)]
    assert outcomes == [
        (f"user:{team['bob_email']}", "counted"),
        (f"user:{team['bob_email']}", "counted"),
        (f"user:{team['cy_email']}", "applied"),
    ]


def test_a_policy_naming_people_refuses_everyone_else(
    stack: Stack, team: dict[str, Any], demo_url: str
) -> None:
    ada, bob, cy = team["ada"], team["bob"], team["cy"]
    job_id = submit(ada, demo_url, {"users": [team["cy_email"].upper()]})
    waiting(ada, job_id)
    refused = bob.post(f"/api/v1/jobs/{job_id}/reject")
    assert refused.status_code == 403
    assert refused.json()["why"] == "user"
    assert bob.get(f"/api/v1/jobs/{job_id}/approval").json()["why_not"] == "user"
    assert cy.post(f"/api/v1/jobs/{job_id}/reject").status_code == 200
    assert finished(cy, job_id)["status"] == "failed"
    assert [o for _, _, o, _ in decisions(stack, job_id)] == ["refused", "applied"]


def test_a_policy_outside_the_format_is_refused_at_submission(
    team: dict[str, Any], demo_url: str
) -> None:
    document = runbook(approval_runbook(), start_url=demo_url)
    document["x-runwright"] = {"approval": {"approvals": 0, "roles": ["viewer"]}}
    refused = team["ada"].post("/api/v1/jobs", json={"runbook": document})
    assert refused.status_code == 422, refused.text


@pytest.mark.parametrize("round_", range(2))
def test_racing_approve_reject_and_cancel_have_exactly_one_winner(
    stack: Stack, team: dict[str, Any], demo_url: str, round_: int
) -> None:
    ada, bob, cy = team["ada"], team["bob"], team["cy"]
    job_id = submit(ada, demo_url)
    version = waiting(ada, job_id)["version"]
    match = {"If-Match": f'"{version}"'}
    calls = [(bob, "approve"), (cy, "reject"), (ada, "cancel")]
    if round_:
        calls.reverse()
    answers: dict[str, int] = {}
    start = threading.Barrier(len(calls))

    def decide(person: httpx.Client, action: str) -> None:
        start.wait()
        answers[action] = person.post(f"/api/v1/jobs/{job_id}/{action}", headers=match).status_code

    threads = [threading.Thread(target=decide, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [200, 409, 409], answers
    [winner] = [action for action, code in answers.items() if code == 200]
    job = finished(ada, job_id)
    assert (
        job["status"] == {"approve": "completed", "reject": "failed", "cancel": "cancelled"}[winner]
    )
    recorded = {action: outcome for _, action, outcome, _ in decisions(stack, job_id)}
    for action in ("approve", "reject"):
        assert recorded[action] == ("applied" if action == winner else "superseded"), recorded
    events = bob.get(f"/api/v1/jobs/{job_id}/events").text
    decided = [s for s in ("approved", "rejected", "cancelled") if f'"state":"{s}"' in events]
    assert len(decided) == 1, decided


def slack_post(
    stack: Stack,
    payload: dict[str, Any],
    *,
    secret: str = SLACK_SECRET,
    at: int | None = None,
) -> httpx.Response:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    timestamp = str(at if at is not None else int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }
    return httpx.post(
        f"{stack.gateway_url}/api/v1/integrations/slack/interactions",
        content=body,
        headers=headers,
        timeout=30,
    )


def click(
    slack_user: str, action: str, job_id: str, ordinal: int, response_url: str | None = None
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": slack_user, "username": "someone"},
        "actions": [{"action_id": f"runwright_{action}", "value": f"{job_id}:{ordinal}"}],
    }
    if response_url is not None:
        payload["response_url"] = response_url
    return payload


def test_slack_buttons_decide_as_the_linked_person_and_only_when_signed(
    stack: Stack, team: dict[str, Any], demo_url: str
) -> None:
    ada, bob = team["ada"], team["bob"]
    slack_bob = f"U{uuid.uuid4().hex[:10].upper()}"
    linked = bob.patch("/api/v1/me", json={"slack_user_id": slack_bob})
    assert linked.status_code == 200, linked.text
    assert linked.json() == {"slack_user_id": slack_bob}
    assert ada.patch("/api/v1/me", json={"slack_user_id": slack_bob}).status_code == 409
    assert ada.patch("/api/v1/me", json={"slack_user_id": "not an id"}).status_code == 422
    job_id = submit(ada, demo_url, {"fourEyes": True})
    waiting(ada, job_id)
    ordinal = 1
    slack = Receiver().__enter__()  # stands in for the message's response_url on hooks.slack.com
    good = click(slack_bob, "approve", job_id, ordinal, slack.url("/actions/T1/1/abc"))
    assert slack_post(stack, good, secret="wrong-secret").status_code == 401
    assert slack_post(stack, good, at=int(time.time()) - 6 * 60).status_code == 401
    unlinked = slack_post(stack, click("UNOBODY0", "approve", job_id, ordinal))
    assert unlinked.status_code == 200
    assert unlinked.json()["response_type"] == "ephemeral"
    assert "not linked" in unlinked.json()["text"]
    assert ada.get(f"/api/v1/jobs/{job_id}").json()["status"] == "waiting_for_approval"
    done = slack_post(stack, good)
    assert done.status_code == 200, done.text
    assert done.json()["text"].startswith("Approved")
    assert finished(ada, job_id)["status"] == "completed"
    # The channel's message now says who decided, and its buttons are gone.
    (update,) = slack.wait_for(1)
    assert update.path == "/actions/T1/1/abc"
    assert update.json() == {
        "replace_original": True,
        "text": f"Approved by {team['bob_email']} in Slack.",
    }
    slack.__exit__()
    assert decisions(stack, job_id) == [(f"user:{team['bob_email']}", "approve", "applied", None)]
    late = slack_post(stack, click(slack_bob, "reject", job_id, ordinal))
    assert late.json()["text"].startswith("Too late")
    via = asyncio.run(
        sql(stack, "SELECT via FROM approval.decisions WHERE job_id = $1", uuid.UUID(job_id))
    )
    assert {r["via"] for r in via} == {"slack"}
    with Receiver() as elsewhere:
        # A response_url on a host Slack does not use is never posted to (nor is the unsigned
        # or unlinked clicks' above: nothing reached the first receiver but the update).
        odd = click(
            slack_bob,
            "approve",
            job_id,
            ordinal,
            f"http://localhost:{elsewhere.server.server_address[1]}/x",
        )
        assert slack_post(stack, odd).status_code == 200
        time.sleep(0.5)
        assert elsewhere.requests == []
