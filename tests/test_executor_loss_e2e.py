"""Executor loss: a file handed over before the executor died is still stored, and the job does
not hang: it fails as `executor lost` once the lease runs out, within the lease plus the reaper's
interval after the executor's last renewal (the shipped settings; docs/failure-detection.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
from runwright_common.settings import load
from runwright_executor.settings import ExecutorSettings
from runwright_queue.settings import QueueSettings
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e


ENV = {"RUNWRIGHT_MAX_QUEUED": "2"}
"""Lease, renewal and reaper timing as shipped."""


@pytest.fixture(scope="module")
def short_lease_stack() -> Iterator[Stack]:
    with running_stack(env=dict(ENV)) as stack:
        yield stack


def test_an_artifact_handed_over_before_the_executor_dies_is_still_stored(
    short_lease_stack: Stack,
    fixture_url: str,
) -> None:
    stack = short_lease_stack
    api = httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.token}"}
    )
    document = runbook(
        [
            {"action": {"type": "download", "selector": {"id": "csv-link"}}},
            {"action": {"type": "wait", "duration": 60000}},
        ],
        start_url=f"{fixture_url}/downloads",
        timeout_ms=70000,
    )
    job_id = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    path = f"/api/v1/jobs/{job_id}/events"
    deadline = time.time() + 60
    with api.stream("GET", path) as events:
        for line in events.iter_lines():
            if '"ordinal":1' in line and '"status":"running"' in line:
                break
            assert time.time() < deadline
    lost_before = executors_lost(stack)
    executor = stack.service("executor-0").proc
    assert executor is not None
    os.kill(executor.pid, signal.SIGKILL)
    killed = time.time()
    while True:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] == "failed":
            break
        assert time.time() - killed < 45, "the job left running within 45 s"
        time.sleep(0.2)
    assert job["reason"] == "executor lost"
    assert [s["status"] for s in job["steps"]] == ["success", "skipped"]
    while executors_lost(stack) != lost_before + 1:  # counted just after the loss commits
        assert time.time() - killed < 45, executors_lost(stack)
        time.sleep(0.1)
    while not (items := api.get(f"/api/v1/jobs/{job_id}/artifacts").json()["items"]):
        assert time.time() - killed < 45
        time.sleep(0.2)
    (download,) = items
    assert download["name"] == "report.csv"
    assert api.get(download["url"]).text.startswith("name,price,stock")


def executors_lost(stack: Stack) -> float:
    """The queue's ``runwright_executors_lost_total`` (counted when the loss commits)."""
    text = httpx.get(stack.metrics_urls["queue"], timeout=10).raise_for_status().text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("runwright_executors_lost_total ")]
    return float(line.split()[1])


def client(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.token}"}
    )


def kill_executor(stack: Stack) -> None:
    executor = stack.service("executor-0").proc
    assert executor is not None
    os.kill(executor.pid, signal.SIGKILL)
    executor.wait()


def test_a_job_that_asked_for_it_is_requeued_from_the_first_step_when_its_executor_dies(
    short_lease_stack: Stack,
    fixture_url: str,
) -> None:
    stack = short_lease_stack
    stack.revive()  # brings back an executor a previous test killed
    api = client(stack)
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/static"}},
            {"action": {"type": "wait", "duration": 3000}},
        ],
        start_url=f"{fixture_url}/static",
    )
    job_id = api.post(
        "/api/v1/jobs", json={"runbook": document, "on_executor_loss": "requeue"}
    ).json()["id"]
    deadline = time.time() + 60
    with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
        for line in events.iter_lines():
            if '"ordinal":1' in line and '"status":"running"' in line:
                break
            assert time.time() < deadline
    kill_executor(stack)
    stack.revive()
    while (job := api.get(f"/api/v1/jobs/{job_id}").json())["status"] != "completed":
        assert job["status"] != "failed", job["reason"]
        assert time.time() < deadline + 60
        time.sleep(0.3)
    statuses = [
        e for e in read_events(api, f"/api/v1/jobs/{job_id}/events")[1] if e.event == "status"
    ]
    assert [e.data["status"] for e in statuses] == [
        "queued",
        "running",
        "queued",
        "running",
        "completed",
    ]
    assert "requeued from the first step" in statuses[2].data["reason"]
    assert [s["status"] for s in job["steps"]] == ["success", "success"]


async def lease_watch(dsn: str, job_id: str) -> tuple[datetime, datetime, datetime, str, str]:
    """Once the executor is killed: the job's last lease end before it left ``running``, the
    database's time just after the kill, and the transition's time, status and reason."""
    conn = await asyncpg.connect(dsn)
    try:
        killed_at = await conn.fetchval("SELECT clock_timestamp()")
        expires: datetime | None = None
        while True:
            row = await conn.fetchrow(
                "SELECT status, lease_expires_at, updated_at, reason FROM queue.jobs WHERE id = $1",
                uuid.UUID(job_id),
            )
            assert row is not None
            if row["status"] != "running":
                assert expires is not None, dict(row)
                return expires, killed_at, row["updated_at"], row["status"], row["reason"]
            expires = row["lease_expires_at"] or expires  # it stays put for a lease once killed
            await asyncio.sleep(0.1)
    finally:
        await conn.close()


def test_a_dead_executors_job_leaves_running_within_the_lease_and_one_reaper_interval(
    short_lease_stack: Stack,
    fixture_url: str,
) -> None:
    stack = short_lease_stack
    stack.revive()
    lease = timedelta(milliseconds=load(ExecutorSettings, ENV).lease_ms)
    sweep = timedelta(seconds=load(QueueSettings, ENV).reaper_interval_s)
    assert lease + sweep <= timedelta(seconds=10)  # the promise: detected within 10 s
    api = client(stack)
    document = runbook(
        [{"action": {"type": "wait", "duration": 60000}}], start_url=fixture_url, timeout_ms=70000
    )
    job_id = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    deadline = time.time() + 60
    with api.stream("GET", f"/api/v1/jobs/{job_id}/events") as events:
        for line in events.iter_lines():
            if '"ordinal":0' in line and '"status":"running"' in line:
                break
            assert time.time() < deadline
    time.sleep(2 * lease.total_seconds() / 3)  # a few renewals: the lease now ends later
    kill_executor(stack)
    expires, killed_at, left_at, status, reason = asyncio.run(
        lease_watch(stack.database_url, job_id)
    )
    renewed_at = expires - lease
    print(
        f"\nlease {lease.total_seconds()} s, reaper interval {sweep.total_seconds()} s: "
        f"last renewal -> left running {(left_at - renewed_at).total_seconds():.3f} s, "
        f"kill -> left running {(left_at - killed_at).total_seconds():.3f} s, "
        f"lease end -> left running {(left_at - expires).total_seconds():.3f} s"
    )
    assert (status, reason) == ("failed", "executor lost")
    assert left_at >= expires, "reaped before its lease ran out"
    assert left_at - renewed_at <= lease + sweep
    stack.revive()


def test_a_full_queue_answers_429_and_queued_jobs_can_be_cancelled(
    short_lease_stack: Stack,
    fixture_url: str,
) -> None:
    stack = short_lease_stack
    kill_executor(stack)  # nothing takes work: jobs stay queued
    api = client(stack)
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=fixture_url)
    queued = [api.post("/api/v1/jobs", json={"runbook": document}).json() for _ in range(2)]
    assert [job["status"] for job in queued] == ["queued", "queued"]
    refused = api.post("/api/v1/jobs", json={"runbook": document})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert refused.headers["content-type"].startswith("application/problem+json")
    for job in queued:
        assert api.post(f"/api/v1/jobs/{job['id']}/cancel").json()["status"] == "cancelled"
    assert api.post("/api/v1/jobs", json={"runbook": document}).status_code == 201
    stack.revive()
