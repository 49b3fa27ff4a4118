"""The live view: while someone watches a running job, its browser is streamed as `screenshot`
events; a late joiner gets the newest frame at once; nobody watching means nothing streamed."""

from __future__ import annotations

import base64
import json
import threading
import time

import httpx
import pytest
from runwright_cli.stack import Stack
from support.runbooks import runbook
from support.sse import Event, read_events

pytestmark = pytest.mark.e2e


def animating_job(api: httpx.Client, fixture_url: str, ms: int) -> str:
    document = runbook(
        [{"action": {"type": "wait", "duration": ms}}], start_url=f"{fixture_url}/mutating"
    )
    response = api.post("/api/v1/jobs", json={"runbook": document})
    assert response.status_code == 201
    return str(response.json()["id"])


def frames(events: list[Event]) -> list[Event]:
    return [e for e in events if e.event == "screenshot"]


def test_a_watched_job_streams_changing_jpeg_frames_at_a_capped_rate(
    api: httpx.Client,
    fixture_url: str,
) -> None:
    job_id = animating_job(api, fixture_url, 4000)
    started = time.time()
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events?live=1", frames=True)
    elapsed = time.time() - started
    shots = frames(events)
    assert len(shots) >= 5
    images = [base64.b64decode(e.data["jpeg"]) for e in shots]
    assert all(image[:2] == b"\xff\xd8" for image in images)
    assert len(set(images)) > 3, "the page animates, so the frames differ"
    assert shots[0].data["width"] > 0
    assert [e.data["frame"] for e in shots] == sorted(e.data["frame"] for e in shots)
    assert len(shots) <= 5 * elapsed + 2, "at most 5 frames a second"
    assert all(e.id == 0 for e in shots), "frames carry no event id"
    ids = [e.id for e in events if e.event != "screenshot"]
    assert ids == list(range(1, len(ids) + 1)), "frames do not disturb the event sequence"


def test_a_client_that_joins_late_gets_the_newest_frame_at_once(
    api: httpx.Client,
    fixture_url: str,
) -> None:
    job_id = animating_job(api, fixture_url, 5000)
    path = f"/api/v1/jobs/{job_id}/events?live=1"
    first: list[Event] = []
    watcher = threading.Thread(target=lambda: first.extend(read_events(api, path, frames=True)[1]))
    watcher.start()
    time.sleep(2.5)
    joined = time.time()
    with api.stream("GET", path, timeout=30) as response:
        got_frame_at = None
        for line in response.iter_lines():
            if line.startswith("event: screenshot"):
                got_frame_at = time.time()
                break
    watcher.join(30)
    assert got_frame_at is not None
    assert got_frame_at - joined < 1.0
    assert frames(first)


def test_nothing_is_streamed_for_a_job_nobody_watches(
    api: httpx.Client, stack: Stack, fixture_url: str
) -> None:
    job_id = animating_job(api, fixture_url, 1500)
    deadline = time.time() + 30
    while api.get(f"/api/v1/jobs/{job_id}").json()["status"] not in ("completed", "failed"):
        assert time.time() < deadline
        time.sleep(0.2)
    log = (stack.data_dir / "logs" / "executor-0.log").read_text().splitlines()
    mine = [json.loads(line) for line in log if job_id in line and line.startswith("{")]
    assert any(entry.get("event") == "running job" for entry in mine)
    assert not any(entry.get("event") == "live view on" for entry in mine)


def test_a_plain_client_reads_events_without_frames_and_starts_no_live_view(
    api: httpx.Client, stack: Stack, fixture_url: str
) -> None:
    job_id = animating_job(api, fixture_url, 2000)
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events", frames=True)
    assert events, "the stream carries the job's events"
    assert not frames(events), "frames only for a client that asks with live=1"
    log = (stack.data_dir / "logs" / "executor-0.log").read_text().splitlines()
    mine = [json.loads(line) for line in log if job_id in line and line.startswith("{")]
    assert not any(entry.get("event") == "live view on" for entry in mine)


def test_types_keeps_only_those_events_and_a_resume_after_the_end_is_204(
    api: httpx.Client, fixture_url: str
) -> None:
    job_id = animating_job(api, fixture_url, 300)
    path = f"/api/v1/jobs/{job_id}/events?types=status"
    _, events = read_events(api, path)
    assert [e.data["status"] for e in events] == ["queued", "running", "completed"]
    assert {e.event for e in events} == {"status"}
    _, everything = read_events(api, f"/api/v1/jobs/{job_id}/events")
    assert {"step", "report"} <= {e.event for e in everything}
    last = everything[-1].id
    with api.stream("GET", f"/api/v1/jobs/{job_id}/events?types=step") as response:
        lines = list(response.iter_lines())
    ids = [int(line[4:]) for line in lines if line.startswith("id: ")]
    assert ids[-1] == last, "a filtered stream still ends at the final event's id"
    assert not any(line == "event: status" for line in lines)
    status, _ = read_events(api, path, last_event_id=last)
    assert status == 204
    assert api.get(f"/api/v1/jobs/{job_id}/events?types=status,bogus").status_code == 422
