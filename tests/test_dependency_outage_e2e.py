"""Dependencies dying under a running stack, as under ``make run``: nats-server and PostgreSQL
killed with SIGKILL while jobs run come back by themselves; meanwhile the API answers 503 with
``Retry-After`` and readiness names what is down; every job ends."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.stack import Supervisor, supervised_stack

pytestmark = pytest.mark.e2e

TERMINAL = {"completed", "failed", "cancelled", "rejected"}
OUTAGE_S = 10.0
"""Longer than an executor's lease (6 s): renewals fail for longer than a lease lasts."""


@pytest.fixture(scope="module")
def supervised() -> Iterator[tuple[Stack, Supervisor]]:
    with supervised_stack(durable=True) as pair:  # as under make run: a commit is on disk
        yield pair


@pytest.fixture
def demo_url(supervised: tuple[Stack, Supervisor]) -> str:
    return f"http://127.0.0.1:{supervised[0].config.demo_port}"


def client(stack: Stack) -> httpx.Client:
    return httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.token}"}
    )


def wait_ready(api: httpx.Client, within_s: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        response = api.get("/readyz")
        if response.status_code == 200:
            body: dict[str, object] = response.json()
            return body
        time.sleep(0.25)
    raise AssertionError(f"not ready again after {within_s:g} s: {api.get('/readyz').text}")


def first_503(api: httpx.Client, path: str, within_s: float = 30) -> httpx.Response:
    """The first 503 ``GET path`` answers (a dependency was just killed)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        response = api.get(path)
        if response.status_code == 503:
            return response
        time.sleep(0.2)
    raise AssertionError(f"{path} did not answer 503 within {within_s:g} s")


def short_job(demo_url: str) -> dict[str, object]:
    return runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)


def submit_jobs(api: httpx.Client, demo_url: str, count: int) -> list[str]:
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/login"}},
            {"action": {"type": "wait", "duration": 1500}},
            {"action": {"type": "wait", "selector": {"id": "email"}}},
            {"action": {"type": "wait", "duration": 1500}},
        ],
        start_url=demo_url,
    )
    ids = []
    for _ in range(count):
        response = api.post("/api/v1/jobs", json={"runbook": document})
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def all_end(api: httpx.Client, ids: list[str], within_s: float = 240) -> dict[str, str]:
    deadline = time.monotonic() + within_s
    statuses: dict[str, str] = {}
    while time.monotonic() < deadline:
        for job_id in ids:
            response = api.get(f"/api/v1/jobs/{job_id}")
            if response.status_code == 200:
                statuses[job_id] = response.json()["status"]
        if len(statuses) == len(ids) and set(statuses.values()) <= TERMINAL:
            return statuses
        time.sleep(0.5)
    raise AssertionError(f"jobs not ended after {within_s:g} s: {statuses}")


def reasons(api: httpx.Client, ids: list[str]) -> list[object]:
    """Why each job ended as it did."""
    return [api.get(f"/api/v1/jobs/{j}").json().get("reason") for j in ids]


def until_running(api: httpx.Client, ids: list[str], within_s: float = 60) -> list[str]:
    """The jobs running once at least two are (an outage then hits their leases)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        running = [j for j in ids if api.get(f"/api/v1/jobs/{j}").json()["status"] == "running"]
        if len(running) >= 2:
            return running
        time.sleep(0.1)
    raise AssertionError(f"fewer than two jobs running after {within_s:g} s")


def test_postgres_killed_under_running_jobs_is_restarted_and_meanwhile_the_api_answers_503(
    supervised: tuple[Stack, Supervisor], demo_url: str
) -> None:
    stack, supervisor = supervised
    api = client(stack)
    wait_ready(api)  # whatever the test before left behind has come back
    ids = submit_jobs(api, demo_url, 4)
    until_running(api, ids)
    assert stack.postgres is not None
    before = stack.postgres.proc
    with supervisor.hold():
        stack.postgres.kill()
        refused = first_503(api, "/api/v1/jobs")
        assert refused.headers["retry-after"].isdigit()
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert "PostgreSQL" in refused.json()["detail"]
        ready = api.get("/readyz")
        assert ready.status_code == 503
        assert "postgres" in ready.json()["down"]
        assert api.get(f"/api/v1/jobs/{ids[0]}").status_code == 503
        time.sleep(OUTAGE_S)
    wait_ready(api)
    assert stack.postgres.proc is not before, "PostgreSQL was started again"
    assert stack.postgres.alive()
    assert any(line.startswith("PostgreSQL stopped") for line in supervisor.said)
    statuses = all_end(api, ids)
    assert api.get("/readyz").json()["down"] == []
    listed = {j["id"] for j in api.get("/api/v1/jobs", params={"limit": 200}).json()["items"]}
    assert set(ids) <= listed, "no job was lost"
    assert set(statuses.values()) == {"completed"}, reasons(api, ids)


def test_nats_killed_under_running_jobs_is_restarted_and_meanwhile_submission_answers_503(
    supervised: tuple[Stack, Supervisor], demo_url: str
) -> None:
    stack, supervisor = supervised
    api = client(stack)
    wait_ready(api)  # whatever the test before left behind has come back
    ids = submit_jobs(api, demo_url, 4)
    until_running(api, ids)
    assert stack.nats.proc is not None
    port = stack.nats.port
    with supervisor.hold():
        stack.nats.kill()
        ready = first_503(api, "/readyz")
        assert "nats" in ready.json()["down"]
        refused = api.post("/api/v1/jobs", json={"runbook": short_job(demo_url)}, timeout=60)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"].isdigit()
        time.sleep(OUTAGE_S)
    wait_ready(api)
    assert stack.nats.alive()
    assert stack.nats.port == port
    assert any(line.startswith("nats-server stopped") for line in supervisor.said)
    statuses = all_end(api, ids)
    assert set(statuses.values()) == {"completed"}, reasons(api, ids)
    after = api.post("/api/v1/jobs", json={"runbook": short_job(demo_url)})
    assert after.status_code == 201, "the bus works again"
    assert all_end(api, [after.json()["id"]])[after.json()["id"]] == "completed"


def test_both_killed_at_once_come_back_and_no_job_hangs(
    supervised: tuple[Stack, Supervisor], demo_url: str
) -> None:
    stack, _ = supervised
    api = client(stack)
    wait_ready(api)  # whatever the test before left behind has come back
    ids = submit_jobs(api, demo_url, 3)
    assert stack.postgres is not None
    assert stack.nats.proc is not None
    time.sleep(1)
    stack.nats.kill()
    stack.postgres.kill()
    body = wait_ready(api)
    assert body["down"] == []
    all_end(api, ids)
