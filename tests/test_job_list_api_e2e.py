"""What the Jobs page is built on: tab counts, search, the trigger filter and the workspace-wide
event stream (``GET /api/v1/events``) with its resume rules."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from runwright_proto.jobs import JOB_STATUSES
from runwright_queue.counts import fold_counts
from runwright_stack.ports import wait_for_port
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import Event, read_events

pytestmark = pytest.mark.e2e


def later() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def submit_scheduled(api: httpx.Client, demo_url: str, title: str, **extra: Any) -> dict[str, Any]:
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    document["title"] = title
    response = api.post("/api/v1/jobs", json={"runbook": document, "run_at": later(), **extra})
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def counts(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/api/v1/jobs/counts")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def titles(api: httpx.Client, **params: str) -> list[str]:
    response = api.get("/api/v1/jobs", params={"limit": "200", **params})
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def test_tab_counts_follow_submissions_and_cancels_and_survive_folding(
    api: httpx.Client, demo_url: str, stack: Stack
) -> None:
    before = counts(api)
    assert set(before["by_status"]) == set(JOB_STATUSES)
    jobs = [submit_scheduled(api, demo_url, f"Counted {i}") for i in range(3)]
    assert api.post(f"/api/v1/jobs/{jobs[0]['id']}/cancel").status_code == 200
    after = counts(api)
    assert after["by_status"]["scheduled"] == before["by_status"]["scheduled"] + 2
    assert after["by_status"]["cancelled"] == before["by_status"]["cancelled"] + 1
    assert after["total"] == before["total"] + 3

    conn = await asyncpg.connect(stack.database_url)
    try:
        # The queue service folds every second; folding here too is safe (one folder at a time).
        # The counts are the caller's workspace's: other tests' workspaces hold jobs too.
        deadline = time.monotonic() + 30
        while await conn.fetchval("SELECT count(*) FROM queue.job_count_deltas"):
            assert time.monotonic() < deadline, "the count deltas were never folded"
            await fold_counts(conn)
            await asyncio.sleep(0.1)
        exact = {
            r["status"]: r["n"]
            for r in await conn.fetch(
                "SELECT status, count(*) AS n FROM queue.jobs WHERE workspace = 'default'"
                " GROUP BY status"
            )
        }
    finally:
        await conn.close()
    folded = counts(api)
    assert folded["by_status"]["cancelled"] == exact.get("cancelled", 0)
    assert folded["by_status"]["scheduled"] == exact.get("scheduled", 0)
    assert folded["total"] == sum(exact.values())
    for job in jobs[1:]:
        api.post(f"/api/v1/jobs/{job['id']}/cancel")


def test_search_finds_jobs_by_title_id_and_label_and_filters_by_trigger(
    api: httpx.Client, demo_url: str
) -> None:
    marker = uuid.uuid4().hex[:10]
    invoice = submit_scheduled(
        api, demo_url, f"Export invoices {marker}", labels={"team": f"billing-{marker}"}
    )
    submit_scheduled(api, demo_url, f"Download 100%_report {marker}")
    try:
        assert titles(api, q=f"INVOICES {marker}") == [f"Export invoices {marker}"]
        matching = api.get("/api/v1/jobs/counts", params={"q": marker}).json()
        assert matching["total"] == 2
        assert matching["by_status"]["scheduled"] == 2
        assert matching["capped"] is False
        labelled = api.get("/api/v1/jobs/counts", params={"q": f"team=billing-{marker}"}).json()
        assert labelled["total"] == 1
        assert titles(api, q=invoice["id"]) == [f"Export invoices {marker}"]
        assert titles(api, q=f"team=billing-{marker}") == [f"Export invoices {marker}"]
        # LIKE wildcards in the search text are literal characters.
        assert titles(api, q=f"100%_report {marker}") == [f"Download 100%_report {marker}"]
        assert titles(api, q=f"0%_r% {marker}") == []
        assert f"Export invoices {marker}" in titles(api, trigger="api")
        assert f"Export invoices {marker}" not in titles(api, trigger="schedule")
        assert titles(api, q=marker, status="scheduled", trigger="api") == [
            f"Download 100%_report {marker}",
            f"Export invoices {marker}",
        ]
        for path in ("/api/v1/jobs", "/api/v1/jobs/counts"):
            bad = api.get(path, params={"trigger": "cron"})
            assert bad.status_code == 422
            assert bad.json()["errors"][0]["field"] == "trigger"
    finally:
        for item in api.get("/api/v1/jobs", params={"q": marker}).json()["items"]:
            api.post(f"/api/v1/jobs/{item['id']}/cancel")


def job_events(events: list[Event], job_id: str) -> list[Event]:
    return [e for e in events if e.data.get("job_id") == job_id]


def test_the_workspace_stream_carries_every_jobs_events_and_resumes_without_loss_or_repeats(
    api: httpx.Client, demo_url: str
) -> None:
    status, hello = read_events(api, "/api/v1/events", limit=1)
    assert status == 200
    assert hello[0].event == "ready"
    position = hello[0].id
    assert hello[0].data == {"position": position}

    first = submit_scheduled(api, demo_url, "Workspace stream one")
    second = submit_scheduled(api, demo_url, "Workspace stream two")
    api.post(f"/api/v1/jobs/{first['id']}/cancel")
    api.post(f"/api/v1/jobs/{second['id']}/cancel")

    def second_cancelled(e: Event) -> bool:
        return e.data.get("job_id") == second["id"] and e.data.get("status") == "cancelled"

    status, events = read_events(
        api, "/api/v1/events", last_event_id=position, until=second_cancelled, timeout=30
    )
    assert status == 200
    ids = [e.id for e in events]
    assert ids == sorted(set(ids))
    assert ids[0] > position
    for job in (first, second):
        mine = job_events(events, job["id"])
        assert [e.data["seq"] for e in mine] == list(range(1, len(mine) + 1))
        statuses = [e.data["status"] for e in mine if e.event == "status"]
        assert statuses == ["scheduled", "cancelled"]

    # Reconnect after the first event of the first job: the rest comes once, in order.
    cut = job_events(events, first["id"])[0].id
    status, resumed = read_events(
        api, "/api/v1/events", last_event_id=cut, until=second_cancelled, timeout=30
    )
    assert [e.id for e in resumed] == [e.id for e in events if e.id > cut]

    # Only the wanted types, when asked.
    status, only_status = read_events(
        api,
        "/api/v1/events?types=status",
        last_event_id=position,
        until=second_cancelled,
        timeout=30,
    )
    assert {e.event for e in only_status} == {"status"}
    bad = api.get("/api/v1/events", params={"types": "status,nope"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "types"


def test_a_position_the_stream_never_had_gets_a_reset(api: httpx.Client) -> None:
    status, events = read_events(api, "/api/v1/events", last_event_id=10**12, limit=1)
    assert status == 200
    assert events[0].event == "reset"
    assert events[0].data["position"] < 10**12
    assert api.get("/api/v1/events", headers={"Last-Event-ID": "x"}).status_code == 422


def test_a_stopping_gateway_ends_its_streams_cleanly_and_they_resume(
    api: httpx.Client, stack: Stack, demo_url: str
) -> None:
    """SIGTERM ends every event stream at once with a clean end of stream (not a cut connection),
    so clients reconnect with Last-Event-ID; after the restart nothing is lost."""
    document = runbook(
        [{"action": {"type": "wait", "duration": 1000}} for _ in range(4)], start_url=demo_url
    )
    job_id = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    read_events(api, f"/api/v1/jobs/{job_id}/events", until=lambda e: e.event == "step")
    _, hello = read_events(api, "/api/v1/events", limit=1)
    ended: dict[str, BaseException | None] = {}
    seen: dict[str, list[Event]] = {"job": [], "workspace": []}

    def follow(name: str, path: str) -> None:
        def keep(event: Event) -> bool:
            seen[name].append(event)
            return False  # read until the server ends the stream

        try:
            read_events(api, path, timeout=60, until=keep)
            ended[name] = None
        except BaseException as exc:
            ended[name] = exc

    readers = [
        threading.Thread(target=follow, args=("job", f"/api/v1/jobs/{job_id}/events")),
        threading.Thread(target=follow, args=("workspace", f"/api/v1/events?after={hello[0].id}")),
    ]
    for reader in readers:
        reader.start()
    time.sleep(0.5)  # both connected
    gateway = stack.service("gateway")
    assert gateway.proc is not None
    gateway.proc.send_signal(signal.SIGTERM)
    for reader in readers:
        reader.join(30)
    gateway.proc.wait(30)
    assert ended == {"job": None, "workspace": None}
    stack.revive()
    wait_for_port(stack.config.gateway_port, 60)

    last_job = seen["job"][-1].id if seen["job"] else 0
    _, rest = read_events(api, f"/api/v1/jobs/{job_id}/events", last_event_id=last_job)
    job_seqs = [e.id for e in seen["job"]] + [e.id for e in rest]
    assert job_seqs == list(range(job_seqs[0], job_seqs[-1] + 1))
    assert rest[-1].data["status"] == "completed"

    def done(e: Event) -> bool:
        return e.data.get("job_id") == job_id and e.data.get("status") == "completed"

    last_seen = seen["workspace"][-1].id if seen["workspace"] else hello[0].id
    _, more = read_events(api, "/api/v1/events", last_event_id=last_seen, until=done, timeout=30)
    mine = [e.data["seq"] for e in seen["workspace"] + more if e.data.get("job_id") == job_id]
    assert mine == list(range(mine[0], mine[-1] + 1))
