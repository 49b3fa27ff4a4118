"""Workspaces on the bus and in the queue: every job event is published on
``runwright.events.<workspace>.<job_id>``, so an internal subscriber can follow one workspace; a
workspace's own concurrency limit and queue cap hold its jobs back while others' run."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx
import msgspec
import nats
import pytest
from runwright_proto import subjects
from runwright_stack.stack import Stack
from support.runbooks import runbook
from test_job_list_api_e2e import later

pytestmark = pytest.mark.e2e


def as_installation(stack: Stack, workspace: str) -> httpx.Client:
    return httpx.Client(
        base_url=stack.gateway_url,
        timeout=30,
        headers={"Authorization": f"Bearer {stack.token}", "X-Workspace": workspace},
    )


def new_workspace(stack: Stack) -> str:
    slug = f"lim-{uuid.uuid4().hex[:8]}"
    with as_installation(stack, "default") as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    return slug


def quick(demo_url: str) -> dict[str, object]:
    return runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)


def wait_for_status(api: httpx.Client, job_id: str, wanted: set[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = api.get(f"/api/v1/jobs/{job_id}").json()["status"]
        if status in wanted:
            return status
        time.sleep(0.2)
    return status


async def test_a_subscriber_follows_one_workspace_by_subject(stack: Stack, demo_url: str) -> None:
    mine = new_workspace(stack)
    nc = await nats.connect(stack.nats.url)
    heard: list[tuple[str, str]] = []

    async def on_event(msg: nats.aio.msg.Msg) -> None:
        heard.append((msg.subject, msgspec.json.decode(msg.data)["job_id"]))

    try:
        await nc.subscribe(subjects.workspace_events(mine), cb=on_event)
        await nc.flush()
        with as_installation(stack, mine) as ours, as_installation(stack, "default") as theirs:
            job = ours.post("/api/v1/jobs", json={"runbook": quick(demo_url), "run_at": later()})
            other = theirs.post(
                "/api/v1/jobs", json={"runbook": quick(demo_url), "run_at": later()}
            )
            assert job.status_code == 201
            assert other.status_code == 201
            for client, made in ((ours, job), (theirs, other)):
                assert client.post(f"/api/v1/jobs/{made.json()['id']}/cancel").status_code == 200
        for _ in range(50):
            if len(heard) >= 2:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    own_id = job.json()["id"]
    assert len(heard) >= 2, "its status events at least (scheduled, cancelled)"
    assert set(heard) == {(f"runwright.events.{mine}.{own_id}", own_id)}, heard


def test_a_workspace_limit_holds_its_jobs_queued_and_releases_them_when_raised(
    stack: Stack, demo_url: str
) -> None:
    mine = new_workspace(stack)
    with as_installation(stack, mine) as api:
        assert api.get("/api/v1/workspaces/current/limits").json()["concurrency"] is None
        held = api.put("/api/v1/workspaces/current/limits", json={"concurrency": 0})
        assert held.status_code == 200, held.text
        assert held.json()["concurrency"] == 0
        assert held.json()["updated_by"] == "admin"
        job = api.post("/api/v1/jobs", json={"runbook": quick(demo_url)}).json()["id"]
        with as_installation(stack, "default") as others:
            theirs = others.post("/api/v1/jobs", json={"runbook": quick(demo_url)}).json()["id"]
            assert wait_for_status(others, theirs, {"completed"}, 60) == "completed"
        assert api.get(f"/api/v1/jobs/{job}").json()["status"] == "queued", (
            "held by its workspace's limit while another workspace's job ran"
        )
        raised = api.put("/api/v1/workspaces/current/limits", json={"concurrency": 1})
        assert raised.status_code == 200
        assert wait_for_status(api, job, {"completed"}, 60) == "completed"
        api.put("/api/v1/workspaces/current/limits", json={})


def test_a_workspace_queue_cap_refuses_what_is_past_it(stack: Stack, demo_url: str) -> None:
    mine = new_workspace(stack)
    with as_installation(stack, mine) as api:
        assert (
            api.put("/api/v1/workspaces/current/limits", json={"max_queued": 1}).status_code == 200
        )
        first = api.post("/api/v1/jobs", json={"runbook": quick(demo_url), "run_at": later()})
        assert first.status_code == 201
        second = api.post("/api/v1/jobs", json={"runbook": quick(demo_url), "run_at": later()})
        assert second.status_code == 429, second.text
        assert "workspace's queue holds 1" in second.text
        assert int(second.headers["Retry-After"]) >= 1
        with as_installation(stack, "default") as others:
            elsewhere = others.post(
                "/api/v1/jobs", json={"runbook": quick(demo_url), "run_at": later()}
            )
            assert elsewhere.status_code == 201, "another workspace has its own cap"
            others.post(f"/api/v1/jobs/{elsewhere.json()['id']}/cancel")
        api.post(f"/api/v1/jobs/{first.json()['id']}/cancel")
        bad = api.put("/api/v1/workspaces/current/limits", json={"concurrency": -1})
        assert bad.status_code in (400, 422)
        assert "concurrency" in bad.text


def test_only_the_installation_sets_limits(stack: Stack) -> None:
    mine = new_workspace(stack)
    with as_installation(stack, mine) as api:
        key = api.post("/api/v1/keys", json={"name": "owner-key", "role": "owner"}).json()["key"]
    with httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {key}"}
    ) as owner:
        assert owner.get("/api/v1/workspaces/current/limits").status_code == 200
        refused = owner.put("/api/v1/workspaces/current/limits", json={"concurrency": 500})
        assert refused.status_code == 403
