"""Held on failure, fixed in the live browser, carried on, in real Chromium against the demo app:
a job (or its runbook) that asks to be held when a step fails waits for a person instead of
failing, with the failed step's error; a retry with the step edited runs in the same page (what
was typed before the failure is still there) and the job completes; skip carries on past the
step; reject fails the job; nobody answering fails it after the approval timeout; approve is not
an answer to a failure, and an edited step is validated like any step."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from runwright_client import Runwright
from runwright_proto.events import ApprovalEvent
from support.runbooks import runbook
from support.sse import read_events
from test_job_control_e2e import status_is, wait_for

pytestmark = pytest.mark.e2e

WRONG = {
    "description": "Press continue",
    "action": {"type": "click", "selector": {"id": "no-such-button"}},
}
RIGHT = {"description": "Press continue", "action": {"type": "click", "selector": {"id": "email"}}}


def steps() -> list[dict[str, Any]]:
    return [
        {"action": {"type": "navigate", "url": "/login"}},
        {"action": {"type": "input", "selector": {"id": "email"}, "value": "kept@example.com"}},
        dict(WRONG),
        {
            "action": {"type": "extract", "script": "document.querySelector('#email').value"},
            "captures": [
                {"name": "email", "strategy": "expression", "expression": "{{__extracted}}"}
            ],
        },
    ]


def held(api: httpx.Client, client: Runwright, demo_url: str, **extra: Any) -> str:
    document = runbook(steps(), start_url=demo_url, timeout_ms=1500)
    job = api.post("/api/v1/jobs", json={"runbook": document, **extra})
    assert job.status_code == 201, job.text
    job_id: str = job.json()["id"]
    wait_for(client, job_id, status_is("waiting_for_approval"))
    return job_id


def test_a_held_failure_is_fixed_with_an_edited_step_in_the_same_page(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    job_id = held(api, client, demo_url, on_failure="hold")
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "waiting_for_approval"
    assert "held" in job["reason"]
    assert job["steps"][2]["status"] == "failed"
    assert job["allowed_actions"] == ["reject", "skip", "retry", "cancel"]
    _, events = read_events(
        api, f"/api/v1/jobs/{job_id}/events", until=lambda e: e.event == "approval"
    )
    hold = events[-1].data
    assert (hold["kind"], hold["state"], hold["ordinal"]) == ("failure", "requested", 2)
    assert hold["error"]["message"]

    refused = api.post(f"/api/v1/jobs/{job_id}/approve")
    assert refused.status_code == 409
    bad = api.post(f"/api/v1/jobs/{job_id}/retry", json={"step": {"action": {"type": "click"}}})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "step.action.selector"
    wrong_action = api.post(f"/api/v1/jobs/{job_id}/skip", json={"step": RIGHT})
    assert wrong_action.status_code == 422, "only retry takes a step"

    # The same step again fails again: held anew, as the next round.
    again = api.post(f"/api/v1/jobs/{job_id}/retry")
    assert again.status_code == 200, again.text
    _, events = read_events(
        api,
        f"/api/v1/jobs/{job_id}/events",
        until=lambda e: (
            e.event == "approval" and e.data["state"] == "requested" and e.id > events[-1].id
        ),
    )
    assert events[-1].data["kind"] == "failure"

    fixed = api.post(f"/api/v1/jobs/{job_id}/retry", json={"step": RIGHT})
    assert fixed.status_code == 200, fixed.text
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "completed"
    done = api.get(f"/api/v1/jobs/{job_id}").json()
    assert done["steps"][2]["status"] == "success"
    assert done["steps"][3]["captured"] == {"email": "kept@example.com"}, "the same page"
    states = [e.data["state"] for e in events if e.event == "approval"]
    assert states == ["requested", "retried", "requested", "retried"]
    actors = {
        e.data.get("actor")
        for e in events
        if e.event == "approval" and e.data["state"] == "retried"
    }
    assert actors == {"admin"}


def test_skip_carries_on_and_reject_fails_a_held_job(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    document = runbook(steps(), start_url=demo_url, timeout_ms=1500)
    document["x-runwright"] = {"onFailure": "hold"}  # asked by the runbook itself
    skipped = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    wait_for(client, skipped, status_is("waiting_for_approval"))
    assert api.post(f"/api/v1/jobs/{skipped}/skip").status_code == 200
    _, events = read_events(api, f"/api/v1/jobs/{skipped}/events")
    assert events[-1].data["status"] == "completed"
    job = api.get(f"/api/v1/jobs/{skipped}").json()
    assert [s["status"] for s in job["steps"]] == ["success", "success", "skipped", "success"]

    failed = held(api, client, demo_url, on_failure="hold")
    assert (
        api.post(f"/api/v1/jobs/{failed}/reject", json={"reason": "the site changed"}).status_code
        == 200
    )
    _, events = read_events(api, f"/api/v1/jobs/{failed}/events")
    assert events[-1].data["status"] == "failed"
    job = api.get(f"/api/v1/jobs/{failed}").json()
    assert [s["status"] for s in job["steps"]] == ["success", "success", "failed", "skipped"]


def test_a_held_job_nobody_answers_fails_after_the_approval_timeout(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    job_id = held(api, client, demo_url, on_failure="hold", approval_timeout_s=1)
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "failed"
    assert events[-1].data["reason"] == "approval timed out"


def test_without_hold_a_failed_step_fails_the_job_as_before(
    api: httpx.Client, demo_url: str
) -> None:
    document = runbook(steps(), start_url=demo_url, timeout_ms=1500)
    job_id = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "failed"
    assert not [e for e in events if e.event == "approval"]
    assert ApprovalEvent  # the event type the hold uses
