"""One path through the whole system: HTTP submit → queue → dispatch → executor (Chromium) →
reports → queue → events → SSE, with real nats-server, PostgreSQL and Chromium."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import example, runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e

LOGIN_VARS = {"email": "ops@example.com", "password": "demo"}


def submit(
    api: httpx.Client, document: object, variables: dict[str, object] | None = None, **extra: object
) -> dict[str, object]:
    response = api.post(
        "/api/v1/jobs", json={"runbook": document, "variables": variables or {}, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def test_a_submitted_runbook_runs_in_chromium_and_completes(
    api: httpx.Client, demo_url: str
) -> None:
    job = submit(api, example("login.yaml", demo_url), LOGIN_VARS)
    assert job["status"] in ("queued", "running")  # an idle executor may claim it at once
    assert job["title"] == "Sign in to Acme Back Office"
    status, events = read_events(api, f"/api/v1/jobs/{job['id']}/events")
    assert status == 200
    assert [e.id for e in events] == list(range(1, len(events) + 1))
    statuses = [e.data["status"] for e in events if e.event == "status"]
    assert statuses == ["queued", "running", "completed"]
    for ordinal in range(5):
        step_states = [
            e.data["status"] for e in events if e.event == "step" and e.data["ordinal"] == ordinal
        ]
        assert step_states == ["running", "success"]
    done = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["status"] == "completed"
    assert done["started_at"]
    assert done["finished_at"]
    assert [s["status"] for s in done["steps"]] == ["success"] * 5
    assert all(isinstance(s["duration_ms"], int) for s in done["steps"])
    assert [s["action_type"] for s in done["steps"]] == [
        "navigate",
        "input",
        "input",
        "click",
        "wait",
    ]
    assert done["metrics"]["steps_succeeded"] == 5
    assert done["metrics"]["steps_failed"] == 0
    assert done["metrics"]["total_duration_ms"] > 0
    assert done["last_event_seq"] == events[-1].id


def test_a_runbook_given_as_a_json_object_runs_too(api: httpx.Client, demo_url: str) -> None:
    document = runbook(
        [
            {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
            {"action": {"type": "wait", "duration": 10}},
        ],
        start_url=demo_url,
    )
    job = submit(api, document)
    _, events = read_events(api, f"/api/v1/jobs/{job['id']}/events")
    assert events[-1].data["status"] == "completed"


def test_reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing(
    api: httpx.Client,
    demo_url: str,
) -> None:
    job = submit(api, example("login.yaml", demo_url), LOGIN_VARS)
    path = f"/api/v1/jobs/{job['id']}/events"
    _, first = read_events(api, path, limit=3)
    assert [e.id for e in first] == [1, 2, 3]
    _, rest = read_events(api, path, last_event_id=first[-1].id)
    ids = [e.id for e in first + rest]
    assert ids == list(range(1, len(ids) + 1))
    assert rest[-1].data["status"] == "completed"
    _, full = read_events(api, path)
    assert [(e.id, e.event, e.data) for e in full] == [
        (e.id, e.event, e.data) for e in first + rest
    ]
    status, after_end = read_events(api, path, last_event_id=ids[-1])
    assert status == 204, "a finished stream tells EventSource to stop reconnecting"
    assert after_end == []


def test_a_failing_step_fails_the_job_explains_why_and_skips_the_rest(
    api: httpx.Client,
    demo_url: str,
) -> None:
    document = runbook(
        [
            {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
            {
                "description": "Click a button that does not exist",
                "action": {
                    "type": "click",
                    "selector": {"tagName": "button", "id": "no-such-button"},
                },
            },
            {"action": {"type": "wait", "duration": 10}},
        ],
        start_url=demo_url,
        timeout_ms=1500,
    )
    job = submit(api, document)
    _, events = read_events(api, f"/api/v1/jobs/{job['id']}/events")
    assert events[-1].data["status"] == "failed"
    done = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert [s["status"] for s in done["steps"]] == ["success", "failed", "skipped"]
    error = done["steps"][1]["error"]
    assert error["kind"] == "Element not found"
    assert "selector" in error["hint"]
    assert error["diagnostics"]["url"].endswith("/login")
    assert error["diagnostics"]["selectors_tried"][0]["strategy"] == "id"
    assert done["steps"][1]["retries"] >= 1
    assert done["metrics"]["steps_failed"] == 1
    assert done["metrics"]["retry_count"] == done["steps"][1]["retries"]


def test_with_stop_on_error_false_the_job_carries_on_after_a_failed_step(
    api: httpx.Client,
    demo_url: str,
) -> None:
    document = runbook(
        [
            {"action": {"type": "click", "selector": {"id": "missing"}}},
            {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
        ],
        start_url=demo_url,
        timeout_ms=4000,
        stop_on_error=False,
    )
    job = submit(api, document)
    read_events(api, f"/api/v1/jobs/{job['id']}/events")
    done = api.get(f"/api/v1/jobs/{job['id']}").json()
    assert [s["status"] for s in done["steps"]] == ["failed", "success"]
    assert done["status"] == "failed"


def test_the_job_list_is_newest_first_filters_by_status_and_pages_with_a_cursor(
    api: httpx.Client,
    demo_url: str,
) -> None:
    ids = []
    for index in range(3):
        document = runbook(
            [{"action": {"type": "wait", "duration": 1}}],
            start_url=demo_url,
            title=f"list test {index}",
        )
        job = submit(api, document)
        read_events(api, f"/api/v1/jobs/{job['id']}/events")
        ids.append(job["id"])
    page = api.get("/api/v1/jobs", params={"limit": 2}).json()
    assert [item["id"] for item in page["items"]] == ids[::-1][:2]
    assert page["next_cursor"]
    following = api.get("/api/v1/jobs", params={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert following["items"][0]["id"] == ids[0]
    completed = api.get("/api/v1/jobs", params={"status": "completed", "limit": 200}).json()
    assert {item["status"] for item in completed["items"]} == {"completed"}
    assert set(ids) <= {item["id"] for item in completed["items"]}
    assert api.get("/api/v1/jobs", params={"status": "failed", "limit": 200}).json()["items"] == [
        i
        for i in api.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
        if i["status"] == "failed"
    ]


def test_health_reports_every_service_ready(stack: Stack) -> None:
    body = httpx.get(f"{stack.gateway_url}/healthz").json()
    assert body["status"] == "ok"
    assert body["ready"] is True
    assert set(body["services"]) == {"queue", "executor", "scheduler", "approval", "artifact"}
    assert body["services"]["executor"]["checks"]["browser"] == "ok"


def test_executors_get_no_database_credentials(stack: Stack) -> None:
    executor = stack.service("executor-0").proc
    assert executor is not None
    names = environment_names(executor.pid)
    assert b"RUNWRIGHT_DATABASE_URL" not in names
    assert b"DATABASE_URL" not in names
    queue = stack.service("queue").proc
    assert queue is not None
    assert b"RUNWRIGHT_DATABASE_URL" in environment_names(queue.pid)


def environment_names(pid: int) -> set[bytes]:
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return {entry.split(b"=", 1)[0] for entry in environ}


def test_secrets_and_sensitive_values_appear_nowhere(
    api: httpx.Client, stack: Stack, demo_url: str
) -> None:
    secret = "zq-very-secret-4711@example.com"
    document = runbook(
        [
            {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
            {
                "description": "Type {{email}} into the email field",
                "action": {"type": "input", "value": "{{email}}", "selector": {"id": "email"}},
            },
            {
                "description": "Type it where no field is",
                "action": {"type": "input", "value": "{{token}}", "selector": {"id": "nowhere"}},
            },
        ],
        start_url=demo_url,
        timeout_ms=4000,
        variables={"email": {"source": "prompt", "sensitive": True}},
    )
    job = submit(api, document, {"email": secret}, secrets={"token": "tk-" + secret})
    _, events = read_events(api, f"/api/v1/jobs/{job['id']}/events")
    assert events[-1].data["status"] == "failed"
    view = api.get(f"/api/v1/jobs/{job['id']}").text
    assert "Type {{email}} into the email field" in view
    stream = str([e.data for e in events])
    logs = "".join(p.read_text() for p in (stack.data_dir / "logs").glob("*.log"))
    for text in (view, stream, logs):
        assert secret not in text
