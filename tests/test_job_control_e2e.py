"""Steering real browser jobs: pause and resume keep the page, cancel stops a running step at once,
approvals carry their evidence and are approved, rejected, skipped or time out."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import closing
from typing import Any

import httpx
import pytest
from runwright_client import Runwright
from runwright_proto.api.jobs import JobRequest
from runwright_proto.events import ApprovalEvent, JobEvent, StatusEvent, StepEvent
from support.runbooks import approval_runbook, runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e


def wait_for(client: Runwright, job_id: str, match: Callable[[JobEvent], bool]) -> JobEvent:
    """Follow the job's events until one matches (the stream is then closed)."""
    with closing(client.follow(job_id)) as events:
        for event in events:
            if match(event):
                return event
    raise AssertionError("the job ended before the event came")


def step_is(ordinal: int, status: str) -> Callable[[JobEvent], bool]:
    return lambda e: isinstance(e, StepEvent) and e.ordinal == ordinal and e.status == status


def status_is(status: str) -> Callable[[JobEvent], bool]:
    return lambda e: isinstance(e, StatusEvent) and e.status == status


def submit(client: Runwright, steps: list[dict[str, Any]], start: str, **extra: Any) -> str:
    document = runbook(steps, start_url=start, timeout_ms=5000)
    return client.submit(JobRequest(runbook=document, **extra)).id


def test_pause_holds_at_the_next_step_and_resume_carries_on_with_the_same_page(
    api: httpx.Client,
    client: Runwright,
    demo_url: str,
) -> None:
    steps = [
        {"action": {"type": "navigate", "url": "/login"}},
        {"action": {"type": "input", "selector": {"id": "email"}, "value": "kept@example.com"}},
        {"action": {"type": "wait", "duration": 1500}},
        {
            "action": {"type": "extract", "script": "document.querySelector('#email').value"},
            "captures": [
                {"name": "email", "strategy": "expression", "expression": "{{__extracted}}"}
            ],
        },
    ]
    job_id = submit(client, steps, demo_url)
    wait_for(client, job_id, step_is(2, "running"))
    paused = api.post(f"/api/v1/jobs/{job_id}/pause")
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    wait_for(client, job_id, step_is(2, "success"))
    time.sleep(1.5)
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "paused"
    assert job["steps"][3]["status"] == "pending", "the next step waits while paused"
    assert api.post(f"/api/v1/jobs/{job_id}/pause").status_code == 409
    assert api.post(f"/api/v1/jobs/{job_id}/resume").json()["status"] == "running"
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "completed"
    actors = [(e.data["status"], e.data["actor"]) for e in events if e.event == "status"]
    assert ("paused", "admin") in actors
    assert ("running", "admin") in actors
    done = api.get(f"/api/v1/jobs/{job_id}").json()
    assert done["steps"][3]["captured"] == {"email": "kept@example.com"}


def test_cancel_stops_a_running_step_at_once_and_skips_the_rest(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    steps = [
        {"action": {"type": "wait", "duration": 60000}},
        {"action": {"type": "navigate", "url": "/login"}},
    ]
    job_id = submit(client, steps, demo_url)
    wait_for(client, job_id, step_is(0, "running"))
    started = time.time()
    response = api.post(f"/api/v1/jobs/{job_id}/cancel", json={"reason": "wrong customer"})
    assert response.status_code == 200
    job = response.json()
    assert time.time() - started < 5
    assert job["status"] == "cancelled"
    assert job["reason"] == "wrong customer"
    assert [s["status"] for s in job["steps"]] == ["skipped", "skipped"]
    assert api.post(f"/api/v1/jobs/{job_id}/cancel").status_code == 409
    follow_up = submit(client, [{"action": {"type": "wait", "duration": 1}}], demo_url)
    _, events = read_events(api, f"/api/v1/jobs/{follow_up}/events")
    assert events[-1].data["status"] == "completed", "the executor's slot was freed"


def test_an_approval_request_carries_evidence_and_approve_runs_the_step(
    api: httpx.Client,
    client: Runwright,
    demo_url: str,
) -> None:
    job_id = submit(client, approval_runbook(), demo_url)
    request = wait_for(client, job_id, lambda e: isinstance(e, ApprovalEvent))
    assert isinstance(request, ApprovalEvent)
    assert request.state == "requested"
    assert request.description == "Sign in as the operator"
    assert request.risk_level == "high"
    assert request.captured == {"page": "login"}
    shot = request.screenshot_artifact_id
    assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "waiting_for_approval"
    assert api.post(f"/api/v1/jobs/{job_id}/pause").status_code == 409
    approved = api.post(f"/api/v1/jobs/{job_id}/approve")
    assert approved.status_code == 200
    assert api.post(f"/api/v1/jobs/{job_id}/approve").status_code == 409
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "completed"
    decided = [e.data for e in events if e.event == "approval"][-1]
    assert (decided["state"], decided["actor"]) == ("approved", "admin")
    image = api.get(f"/api/v1/artifacts/{shot}")
    assert image.content.startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("action", "step_status", "job_status"),
    [("reject", "failed", "failed"), ("skip", "skipped", "completed")],
)
def test_reject_fails_the_step_and_skip_skips_it(
    api: httpx.Client,
    client: Runwright,
    demo_url: str,
    action: str,
    step_status: str,
    job_status: str,
) -> None:
    job_id = submit(client, approval_runbook(), demo_url)
    wait_for(client, job_id, status_is("waiting_for_approval"))
    assert api.post(f"/api/v1/jobs/{job_id}/{action}").status_code == 200
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == job_status
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["steps"][1]["status"] == step_status
    if action == "reject":
        assert job["steps"][1]["error"]["kind"] == "Rejected"
        assert job["steps"][2]["status"] == "skipped"


def test_no_decision_in_time_fails_the_job_as_approval_timed_out(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    job_id = submit(client, approval_runbook(), demo_url, approval_timeout_s=1)
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "failed"
    assert events[-1].data["reason"] == "approval timed out"
    assert [e.data["state"] for e in events if e.event == "approval"] == ["requested", "timed_out"]


def test_cancel_while_waiting_for_approval(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    job_id = submit(client, approval_runbook(), demo_url)
    wait_for(client, job_id, status_is("waiting_for_approval"))
    assert api.post(f"/api/v1/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert events[-1].data["status"] == "cancelled"
    assert [e.data["state"] for e in events if e.event == "approval"][-1] == "cancelled"


def test_actions_answer_409_with_the_status_404_for_unknown_jobs(
    api: httpx.Client, client: Runwright, demo_url: str
) -> None:
    job_id = submit(client, [{"action": {"type": "wait", "duration": 1}}], demo_url)
    read_events(api, f"/api/v1/jobs/{job_id}/events")
    refused = api.post(f"/api/v1/jobs/{job_id}/resume")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["job_status"] == "completed"
    assert "completed" in refused.json()["detail"]
    assert api.post(f"/api/v1/jobs/{job_id}/explode").status_code == 404
    assert api.post("/api/v1/jobs/0b8b8f5e-4b5a-4a43-9a5e-000000000000/cancel").status_code == 404
    stale = api.post(f"/api/v1/jobs/{job_id}/cancel", headers={"If-Match": '"1"'})
    assert stale.status_code == 409


def test_a_job_with_run_at_waits_as_scheduled_and_can_be_cancelled_before(
    api: httpx.Client,
    client: Runwright,
    demo_url: str,
) -> None:
    from datetime import UTC, datetime, timedelta

    soon = datetime.now(UTC) + timedelta(seconds=2)
    later = datetime.now(UTC) + timedelta(hours=1)
    job_id = submit(client, [{"action": {"type": "wait", "duration": 1}}], demo_url, run_at=soon)
    assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "scheduled"
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert [e.data["status"] for e in events if e.event == "status"] == [
        "scheduled",
        "queued",
        "running",
        "completed",
    ]
    waiting = submit(client, [{"action": {"type": "wait", "duration": 1}}], demo_url, run_at=later)
    assert api.post(f"/api/v1/jobs/{waiting}/cancel").json()["status"] == "cancelled"
    bad = api.post(
        "/api/v1/jobs",
        json={
            "runbook": runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url),
            "run_at": "tomorrow",
        },
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "run_at"
