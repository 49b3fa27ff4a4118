"""Changes a service makes by itself reach the audit log: an approval nobody decided in time (the
job failed by ``system``), a run time reached (queued by ``scheduler``), each recorded once with
its workspace, target and reason, readable through ``GET /api/v1/audit`` only in that workspace;
an executor running the job is not an audit entry; a redelivered event writes nothing more."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from runwright_db import create_pool
from runwright_gateway import service_audit
from runwright_stack.stack import Stack
from support.runbooks import approval_runbook, runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e


def workspace_client(stack: Stack) -> httpx.Client:
    slug = f"svc-{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.token}"}
    ) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    return httpx.Client(
        base_url=stack.gateway_url,
        timeout=30,
        headers={"Authorization": f"Bearer {stack.token}", "X-Workspace": slug},
    )


def entries(client: httpx.Client, target: str, expect: int) -> list[dict[str, Any]]:
    """The audit entries about ``target``, once ``expect`` are there (written a moment after)."""
    deadline = time.monotonic() + 20
    while True:
        found: list[dict[str, Any]] = client.get("/api/v1/audit", params={"target": target}).json()[
            "items"
        ]
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_an_approval_timing_out_and_a_run_time_reached_are_audited_with_their_service(
    stack: Stack, demo_url: str
) -> None:
    with workspace_client(stack) as team:
        document = runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000)
        held = team.post("/api/v1/jobs", json={"runbook": document, "approval_timeout_s": 1})
        assert held.status_code == 201, held.text
        held_id = held.json()["id"]
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        quick = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
        timed = team.post("/api/v1/jobs", json={"runbook": quick, "run_at": soon})
        assert timed.status_code == 201, timed.text
        timed_id = timed.json()["id"]
        for job_id in (held_id, timed_id):
            read_events(team, f"/api/v1/jobs/{job_id}/events", timeout=60)

        (failed,) = [e for e in entries(team, held_id, 2) if e["actor"] == "system"]
        assert failed["action"] == "job.fail"
        assert failed["detail"]["reason"] == "approval timed out"
        assert failed["detail"]["previous"] == "waiting_for_approval"
        assert failed["outcome"] == "ok"
        # The submission was the admin token's request, recorded by that request.
        assert {e["actor"] for e in entries(team, held_id, 2)} == {"admin", "system"}

        promoted = [e for e in entries(team, timed_id, 2) if e["actor"] == "scheduler"]
        assert [(e["action"], e["detail"]["status"]) for e in promoted] == [("job.queue", "queued")]
        # The executor's run (running, completed) is the job's own record, not the audit's.
        everything = team.get("/api/v1/audit", params={"limit": 500}).json()["items"]
        assert not [e for e in everything if e["actor"].startswith("executor")]

    with workspace_client(stack) as stranger:
        assert entries(stranger, held_id, 1) == [], "another workspace sees none of it"


async def test_a_redelivered_event_records_nothing_more(stack: Stack) -> None:
    event = service_audit.Seen(
        type="status",
        job_id=str(uuid.uuid4()),
        workspace="default",
        seq=3,
        at=datetime.now(UTC),
        status="failed",
        previous="running",
        reason="executor lost",
        actor="queue",
    )
    run_by_executor = service_audit.Seen(
        type="status",
        job_id=event.job_id,
        workspace="default",
        seq=2,
        at=datetime.now(UTC),
        status="running",
        previous="queued",
        actor="executor:e-1",
    )
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        for _ in range(3):
            await service_audit.record(pool, event)
            await service_audit.record(pool, run_by_executor)
        rows = await pool.fetch(
            "SELECT actor, action, request_id FROM gateway.audit WHERE target = $1", event.job_id
        )
    finally:
        await pool.close()
    assert [tuple(r) for r in rows] == [("queue", "job.fail", f"event:{event.job_id}:3")]
