"""Schedules through the whole system: the HTTP API, the scheduler service answering over NATS,
and occurrences fired against the stack's real queue, executor and Chromium.

Firing is driven: the test runs the scheduler's firing pass at the schedule's next fire time
instead of waiting for the wall clock to get there (the occurrence's job id is the same whoever
fires it, so the stack's own scheduler and the test never both submit it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from runwright_scheduler.firing import SCHEDULE_LABEL, Firing
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e

BERLIN = ZoneInfo("Europe/Berlin")


def document(demo_url: str, wait_ms: int = 10) -> dict[str, Any]:
    return runbook(
        [
            {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
            {"action": {"type": "wait", "duration": wait_ms}},
        ],
        start_url=demo_url,
        title="Export the day's orders",
    )


def create(api: httpx.Client, demo_url: str, **fields: Any) -> dict[str, Any]:
    body = {"cron": "30 2 * * *", "timezone": "Europe/Berlin", "runbook": document(demo_url)}
    response = api.post("/api/v1/schedules", json={**body, **fields})
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


def fields_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


@pytest.fixture(autouse=True)
def no_schedule_left_behind(api: httpx.Client) -> Iterator[None]:
    """A schedule left over would go on firing into the shared stack's queue."""
    yield
    for schedule in api.get("/api/v1/schedules", params={"limit": 200}).json()["items"]:
        api.delete(f"/api/v1/schedules/{schedule['id']}")


def test_creating_a_schedule_answers_201_with_the_next_five_fire_times_in_its_zone(
    api: httpx.Client, demo_url: str
) -> None:
    response = api.post(
        "/api/v1/schedules",
        json={
            "name": "Nightly orders export",
            "cron": "30 2 * * *",
            "timezone": "Europe/Berlin",
            "runbook": document(demo_url),
            "labels": {"team": "ops"},
        },
    )
    assert response.status_code == 201, response.text
    schedule = response.json()
    assert response.headers["location"] == f"/api/v1/schedules/{schedule['id']}"
    assert response.headers["etag"] == '"1"'
    assert (schedule["name"], schedule["overlap"], schedule["paused"]) == (
        "Nightly orders export",
        "skip",
        False,
    )
    times = [datetime.fromisoformat(t) for t in schedule["next_fire_times"]]
    assert len(times) == 5
    assert times == sorted(times)
    for fire_at in times:  # 02:30 Berlin time, written with Berlin's offset (03:00 if skipped)
        assert fire_at.utcoffset() == fire_at.astimezone(BERLIN).utcoffset()
        assert (fire_at.hour, fire_at.minute) in {(2, 30), (3, 0)}
    assert datetime.fromisoformat(schedule["next_fire_at"]) == times[0]
    assert api.get(f"/api/v1/schedules/{schedule['id']}").json() == schedule
    listed = api.get("/api/v1/schedules", params={"limit": 200}).json()["items"]
    assert schedule["id"] in [s["id"] for s in listed]
    assert api.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"cron": "* * * *"}, ["cron"]),
        ({"cron": "0 0 * * * *"}, ["cron"]),
        ({"cron": "61 * * * *"}, ["cron"]),
        ({"cron": "0 0 31 2 *"}, ["cron"]),
        ({"timezone": "Mars/Olympus_Mons"}, ["timezone"]),
        ({"timezone": "Europe/Atlantis", "cron": "every day"}, ["timezone", "cron"]),
        ({"secrets": {"password": "hunter2"}}, ["secrets"]),
        ({"overlap": "queue"}, ["overlap"]),
        ({"runbook": {"title": "t"}}, ["runbook.steps"]),
    ],
)
def test_an_invalid_schedule_is_a_422_naming_each_field(
    api: httpx.Client, demo_url: str, fields: dict[str, Any], named: list[str]
) -> None:
    body = {"cron": "30 2 * * *", "timezone": "UTC", "runbook": document(demo_url), **fields}
    assert fields_of(api.post("/api/v1/schedules", json=body)) == named


def test_a_schedule_runbook_is_validated_like_a_job_runbook(
    api: httpx.Client, demo_url: str
) -> None:
    bad = document(demo_url)
    bad["steps"][0]["action"] = {"type": "teleport"}
    response = api.post("/api/v1/schedules", json={"cron": "* * * * *", "runbook": bad})
    [field] = fields_of(response)
    assert field.startswith("runbook.steps[0].action")


def test_pausing_and_resuming_through_patch_follows_the_version(
    api: httpx.Client, demo_url: str
) -> None:
    schedule = create(api, demo_url)
    path = f"/api/v1/schedules/{schedule['id']}"
    paused = api.patch(path, json={"paused": True}, headers={"If-Match": '"1"'})
    assert paused.status_code == 200, paused.text
    assert paused.headers["etag"] == '"2"'
    body = paused.json()
    assert (body["paused"], body["version"], body["next_fire_times"], body["next_fire_at"]) == (
        True,
        2,
        [],
        None,
    )
    assert body["runbook"] == schedule["runbook"]
    stale = api.patch(path, json={"paused": False}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    resumed = api.patch(path, json={"paused": False, "cron": "0 9 * * 1-5"})
    assert resumed.status_code == 200, resumed.text
    times = [datetime.fromisoformat(t) for t in resumed.json()["next_fire_times"]]
    assert len(times) == 5
    assert all((t.hour, t.minute) == (9, 0) and t.isoweekday() <= 5 for t in times)
    assert fields_of(api.patch(path, json={"timezone": "Nowhere/Town"})) == ["timezone"]
    assert api.get(path).json()["version"] == 3
    assert api.delete(path, headers={"If-Match": '"2"'}).status_code == 409
    assert api.delete(path, headers={"If-Match": '"3"'}).status_code == 204


def test_deleting_a_schedule_answers_204_and_then_404(api: httpx.Client, demo_url: str) -> None:
    schedule = create(api, demo_url)
    path = f"/api/v1/schedules/{schedule['id']}"
    assert api.delete(path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.delete(path).status_code == 404
    assert api.patch(path, json={"paused": True}).status_code == 404
    assert api.get(f"/api/v1/schedules/{uuid.uuid4()}").status_code == 404
    assert api.get("/api/v1/schedules/not-an-id").status_code == 404


def test_schedules_need_the_bearer_token(stack: Stack) -> None:
    response = httpx.get(f"{stack.gateway_url}/api/v1/schedules")
    assert response.status_code == 401


def wait_for_status(api: httpx.Client, job_id: str, wanted: set[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status: str = api.get(f"/api/v1/jobs/{job_id}").json()["status"]
        if status in wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def occurrence_at(api: httpx.Client, schedule_id: str, fire_at: datetime) -> dict[str, Any]:
    items = api.get(f"/api/v1/schedules/{schedule_id}/occurrences").json()["items"]
    [item] = [i for i in items if datetime.fromisoformat(i["fire_at"]) == fire_at]
    return dict(item)


async def test_an_every_minute_schedule_submits_a_job_that_runs_with_trigger_schedule(
    api: httpx.Client, demo_url: str, firing: Firing
) -> None:
    schedule = create(api, demo_url, name="Minutely export", cron="* * * * *", overlap="allow")
    fire_at = datetime.fromisoformat(schedule["next_fire_at"])
    await firing.fire_due(fire_at + timedelta(seconds=1))
    occurrence = occurrence_at(api, schedule["id"], fire_at)
    assert occurrence["outcome"] == "fired"
    after = api.get(f"/api/v1/schedules/{schedule['id']}").json()
    assert after["last_job_id"] == occurrence["job_id"]
    assert datetime.fromisoformat(after["next_fire_at"]) == fire_at + timedelta(minutes=1)
    job = api.get(f"/api/v1/jobs/{occurrence['job_id']}").json()
    assert (job["trigger"], job["title"]) == ("schedule", "Minutely export")
    assert job["labels"][SCHEDULE_LABEL] == schedule["id"]
    status, events = read_events(api, f"/api/v1/jobs/{job['id']}/events")
    assert status == 200
    assert events[-1].data["status"] == "completed"
    assert api.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204


async def test_cancel_previous_cancels_the_running_job_through_the_queue(
    api: httpx.Client, demo_url: str, firing: Firing
) -> None:
    schedule = create(
        api,
        demo_url,
        cron="* * * * *",
        overlap="cancel_previous",
        runbook=document(demo_url, wait_ms=20_000),
    )
    first_at = datetime.fromisoformat(schedule["next_fire_at"])
    await firing.fire_due(first_at + timedelta(seconds=1))
    first = occurrence_at(api, schedule["id"], first_at)["job_id"]
    await firing.fire_due(first_at + timedelta(minutes=1, seconds=1))
    second = occurrence_at(api, schedule["id"], first_at + timedelta(minutes=1))
    assert api.delete(f"/api/v1/schedules/{schedule['id']}").status_code == 204
    assert second["outcome"] == "fired"
    assert second["detail"] == f"cancelled the previous job {first}"
    assert wait_for_status(api, first, {"cancelled"}) == "cancelled"
    api.post(f"/api/v1/jobs/{second['job_id']}/cancel")
