"""Real actors, shown where people look: a person's submission, approval and cancel are named in
the job, its report (JSON and Markdown) and the webhook that says it ended."""

from __future__ import annotations

import time
import uuid
from contextlib import closing
from typing import Any

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook
from test_job_list_api_e2e import later
from test_people_e2e import bearer, join
from test_webhooks import Receiver

pytestmark = pytest.mark.e2e


def wait_for(
    api: httpx.Client, job_id: str, statuses: set[str], timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    job: dict[str, Any] = {}
    while time.monotonic() < deadline:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} is {job.get('status')}, not {statuses}")


def test_a_person_is_named_as_submitter_approver_and_canceller(stack: Stack, demo_url: str) -> None:
    slug = f"act-{uuid.uuid4().hex[:8]}"
    with bearer(stack, stack.token) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    member, email = join(stack, slug, "member")
    actor = f"user:{email}"
    steps = [
        {
            "description": "Delete the export",
            "requiresConfirmation": True,
            "riskLevel": "high",
            "action": {"type": "wait", "duration": 1},
        }
    ]
    with closing(member), Receiver() as receiver:
        with bearer(stack, stack.token, slug) as owner:
            hook = owner.post(
                "/api/v1/webhooks", json={"url": receiver.url(), "events": ["job.finished"]}
            )
            assert hook.status_code == 201, hook.text
        made = member.post("/api/v1/jobs", json={"runbook": runbook(steps, start_url=demo_url)})
        assert made.status_code == 201, made.text
        job_id = made.json()["id"]
        assert made.json()["submitted_by"] == actor
        wait_for(member, job_id, {"waiting_for_approval"})
        assert member.post(f"/api/v1/jobs/{job_id}/approve", json={}).status_code == 200
        wait_for(member, job_id, {"completed"})
        report = member.get(f"/api/v1/jobs/{job_id}/report").json()
        assert report["submittedBy"] == actor
        assert [(d["state"], d["actor"]) for d in report["decisions"]] == [("approved", actor)]
        markdown = member.get(f"/api/v1/jobs/{job_id}/report.md").text
        assert f"**Submitted by:** {actor}" in markdown
        assert f"approved by {actor}" in markdown

        later_job = member.post(
            "/api/v1/jobs", json={"runbook": runbook(steps, start_url=demo_url), "run_at": later()}
        ).json()["id"]
        assert member.post(f"/api/v1/jobs/{later_job}/cancel").status_code == 200
        [call] = receiver.wait_for(1, timeout=60, match=lambda r: r.json()["job_id"] == later_job)
        assert call.json()["status"] == "cancelled"
        assert call.json()["actor"] == actor
        ended = member.get(f"/api/v1/jobs/{later_job}/report").json()
        assert ended["endedBy"] == actor
