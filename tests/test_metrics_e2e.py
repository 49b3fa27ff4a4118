"""Metrics through the real stack: after a known mix of jobs in a workspace of their own, every
service's ``/metrics`` says exactly what happened (jobs by status, durations and queue waits per
job, steps per step, approval waits per decision, no job id in any label), and a real Prometheus
scraping every service answers a PromQL query with the same figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from runwright_db import create_pool
from runwright_db.after_commit import after_commit
from runwright_stack.ports import free_port, wait_for_port
from runwright_stack.stack import Stack
from support.metrics import Samples, scrape, total
from support.runbooks import approval_runbook, runbook

pytestmark = pytest.mark.e2e

TERMINAL = ("completed", "failed", "cancelled")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def by(samples: Samples, name: str, label: str, **labels: str) -> dict[str, float]:
    """``name`` summed per value of ``label`` (among samples that include ``labels``)."""
    found: dict[str, float] = {}
    wanted = set(labels.items())
    for (n, ls), value in samples.items():
        if n == name and wanted <= ls and value:
            key = dict(ls)[label]
            found[key] = found.get(key, 0) + value
    return found


def executors(stack: Stack) -> Samples:
    merged: Samples = {}
    for name, url in stack.metrics_urls.items():
        if name.startswith("executor"):
            for key, value in scrape(url).items():
                merged[key] = merged.get(key, 0) + value
    return merged


@dataclass
class Mix:
    workspace: str
    jobs: dict[str, str]
    """job id → the status it ended in."""
    steps: dict[str, int]
    """executor-reported step outcomes (passed, failed) → how many."""
    before: Samples
    """The executors' metrics before the mix ran (other tests' steps are not ours)."""


def wait_for(client: httpx.Client, job_id: str, wanted: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = client.get(f"/api/v1/jobs/{job_id}").raise_for_status().json()
        if job["status"] in wanted:
            return job
        assert job["status"] not in TERMINAL, job
        assert time.monotonic() < deadline, job["status"]
        time.sleep(0.1)


@pytest.fixture(scope="module")
def mix(stack: Stack) -> Mix:
    """In a new workspace: three jobs that complete, one that fails, one approved (completes)
    and one cancelled while it waits for approval."""
    slug = f"metrics-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {stack.token}"}
    demo = f"http://127.0.0.1:{stack.config.demo_port}"
    before = executors(stack)
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
        admin.headers["X-Workspace"] = slug
        plain = runbook(
            [
                {"action": {"type": "navigate", "url": "/login"}},
                {"action": {"type": "wait", "duration": 1}},
            ],
            start_url=demo,
        )
        failing = runbook(
            [
                {"action": {"type": "navigate", "url": "/login"}},
                {"action": {"type": "click", "selector": {"id": "no-such-button"}}},
                {"action": {"type": "wait", "duration": 1}},
            ],
            start_url=demo,
            timeout_ms=1000,
        )
        asking = runbook(approval_runbook(), start_url=demo, timeout_ms=5000)

        def submit(document: dict[str, Any]) -> str:
            made = admin.post("/api/v1/jobs", json={"runbook": document})
            assert made.status_code == 201, made.text
            job_id: str = made.json()["id"]
            return job_id

        ids = [submit(plain) for _ in range(3)] + [submit(failing)]
        approved, cancelled = submit(asking), submit(asking)
        wait_for(admin, approved, ("waiting_for_approval",))
        assert admin.post(f"/api/v1/jobs/{approved}/approve", json={}).status_code == 200
        wait_for(admin, cancelled, ("waiting_for_approval",))
        assert admin.post(f"/api/v1/jobs/{cancelled}/cancel").status_code == 200
        jobs, steps = {}, {"passed": 0, "failed": 0}
        for job_id in [*ids, approved, cancelled]:
            done = wait_for(admin, job_id, TERMINAL)
            jobs[job_id] = done["status"]
            for step in done["steps"]:
                outcome = {"success": "passed", "failed": "failed"}.get(step["status"])
                if outcome:
                    steps[outcome] += 1
    ended = ["cancelled", "completed", "completed", "completed", "completed", "failed"]
    assert sorted(jobs.values()) == ended
    return Mix(slug, jobs, steps, before)


def settled(url: str, ready: Any) -> Samples:
    """Scrape ``url`` until ``ready(samples)`` (counters are taken right after the commit the API
    answered from; gauges are read at most every few seconds)."""
    deadline = time.monotonic() + 30
    while True:
        samples = scrape(url)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


def test_the_queue_counts_each_job_once_by_workspace_and_status(stack: Stack, mix: Mix) -> None:
    ws = mix.workspace
    queue = settled(
        stack.metrics_urls["queue"],
        lambda s: total(s, "runwright_jobs", workspace=ws, status="completed") == 4,
    )
    finished = {"completed": 4.0, "failed": 1.0, "cancelled": 1.0}
    assert total(queue, "runwright_jobs_submitted_total", workspace=ws) == 6
    assert by(queue, "runwright_jobs_finished_total", "status", workspace=ws) == finished
    assert by(queue, "runwright_job_duration_seconds_count", "status", workspace=ws) == finished
    inf = by(queue, "runwright_job_duration_seconds_bucket", "status", workspace=ws, le="+Inf")
    assert inf == finished
    assert total(queue, "runwright_job_queue_wait_seconds_count", workspace=ws) == 6
    assert by(queue, "runwright_jobs", "status", workspace=ws) == finished
    build = by(queue, "runwright_build_info", "service")
    assert build == {"queue": 1.0}
    applied = total(queue, "runwright_bus_messages_total", consumer="queue-reports", outcome="ack")
    assert applied > 0


def test_the_executor_times_every_step_it_ran_by_action_and_outcome(stack: Stack, mix: Mix) -> None:
    after = executors(stack)

    def ran(samples: Samples, outcome: str) -> float:
        return total(samples, "runwright_step_duration_seconds_count", outcome=outcome)

    for outcome, count in mix.steps.items():
        assert ran(after, outcome) - ran(mix.before, outcome) == count, outcome
    clicked = "runwright_step_duration_seconds_count"
    failed_clicks = total(after, clicked, action="click", outcome="failed") - total(
        mix.before, clicked, action="click", outcome="failed"
    )
    assert failed_clicks == 1
    slots = by(after, "runwright_executor_slots", "state")
    assert slots.get("free", 0) + slots.get("busy", 0) == stack.config.executor_slots
    assert ("runwright_browser_contexts_open", frozenset()) in after


def test_the_approval_service_times_each_approval_to_its_decision(stack: Stack, mix: Mix) -> None:
    ws = mix.workspace
    approval = settled(
        stack.metrics_urls["approval"],
        lambda s: total(s, "runwright_approval_wait_seconds_count", workspace=ws) == 2,
    )
    waits = by(approval, "runwright_approval_wait_seconds_count", "outcome", workspace=ws)
    assert waits == {"approved": 1.0, "cancelled": 1.0}
    assert total(approval, "runwright_approvals_waiting", workspace=ws) == 0


def test_the_gateway_counts_requests_by_route_template(stack: Stack, mix: Mix) -> None:
    gateway = scrape(stack.metrics_urls["gateway"])
    posted = total(
        gateway, "runwright_http_requests_total", method="POST", route="/api/v1/jobs", status="201"
    )
    assert posted >= 6
    routes = {dict(ls)["route"] for (n, ls) in gateway if n == "runwright_http_requests_total"}
    assert any("{job_id" in route for route in routes)
    timed = total(gateway, "runwright_http_request_duration_seconds_count", route="/api/v1/jobs")
    assert timed >= 6


def test_an_event_stream_is_an_sse_client_until_it_closes(stack: Stack, mix: Mix) -> None:
    gateway = stack.metrics_urls["gateway"]

    def clients() -> float:
        return total(scrape(gateway), "runwright_sse_clients", stream="jobs")

    before = clients()
    headers = {"Authorization": f"Bearer {stack.token}", "X-Workspace": mix.workspace}
    with (
        httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as http,
        http.stream("GET", "/api/v1/events") as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()  # kept: a dropped iterator closes the connection
        assert next(lines).startswith(":")  # the stream is open
        assert clients() == before + 1
    deadline = time.monotonic() + 30
    while clients() != before:  # the gateway sees the client go when it next writes or reads
        assert time.monotonic() < deadline, "the closed stream is still counted"
        time.sleep(0.2)
    opened = total(scrape(gateway), "runwright_http_requests_total", route="/api/v1/events")
    assert opened >= 1
    timed = "runwright_http_request_duration_seconds_count"
    assert total(scrape(gateway), timed, route="/api/v1/events") == 0


def test_no_label_anywhere_names_a_job(stack: Stack, mix: Mix) -> None:
    for name, url in stack.metrics_urls.items():
        for (metric, labels), _ in scrape(url).items():
            for label, value in labels:
                assert not UUID_TEXT.search(value), (name, metric, label, value)
                assert value not in mix.jobs, (name, metric, label)


def test_the_public_port_serves_no_metrics(stack: Stack) -> None:
    public = httpx.get(f"{stack.gateway_url}/metrics", timeout=10)
    assert public.status_code != 200 or "runwright_build_info" not in public.text
    assert set(stack.metrics_urls) >= {"gateway", "queue", "scheduler", "approval", "artifact"}


def query(prometheus: str, promql: str) -> float | None:
    answer = httpx.get(f"{prometheus}/api/v1/query", params={"query": promql}, timeout=10)
    result = answer.raise_for_status().json()["data"]["result"]
    return float(result[0]["value"][1]) if result else None


@pytest.mark.skipif(not Path(PROMETHEUS).exists(), reason="no prometheus binary (make install)")
def test_a_real_prometheus_scraping_every_service_answers_for_the_jobs(
    stack: Stack, mix: Mix
) -> None:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="runwright-prometheus-") as home:
        config = Path(home) / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: runwright\n    file_sd_configs:\n"
            f"      - files: ['{stack.scrape_targets_path}']\n"
        )
        log = (Path(home) / "prometheus.log").open("wb")
        server = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={Path(home) / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, 30)
            url, ws = f"http://127.0.0.1:{port}", mix.workspace
            promql = f'sum(runwright_jobs_finished_total{{workspace="{ws}",status="completed"}})'
            deadline, found = time.monotonic() + 60, None
            while found is None and time.monotonic() < deadline:
                found = query(url, promql)
                time.sleep(0.5)
            assert found == 4, (Path(home) / "prometheus.log").read_text()[-2000:]
            # Prometheus scrapes each target at its own offset in the interval, and a scrape
            # that overruns the 1 s interval counts as down: every target answers in time.
            every, up = len(stack.metrics_urls), None
            deadline = time.monotonic() + 30
            while up != every and time.monotonic() < deadline:
                up = query(url, 'count(up{job="runwright"} == 1)')
                time.sleep(0.5)
            assert up == every, (Path(home) / "prometheus.log").read_text()[-2000:]
            by_service = 'sum by (service) (runwright_build_info{job="runwright"})'
            assert query(url, f"count({by_service})") == 6
        finally:
            server.terminate()
            server.wait(10)
            log.close()


async def test_a_callback_after_commit_runs_only_when_the_transaction_commits(
    stack: Stack,
) -> None:
    pool = await create_pool(stack.database_url, max_size=2)
    seen: list[str] = []

    async def rolled_back(conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            after_commit(conn, lambda: seen.append("rolled back"))
            raise RuntimeError

    async def savepoint_fails(conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            after_commit(conn, lambda: seen.append("savepoint"))
            await conn.execute("SELECT 1 / 0")

    try:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute("SELECT 1")
                after_commit(conn, lambda: seen.append("committed"))
                assert seen == []
            assert seen == ["committed"]
            with pytest.raises(RuntimeError):
                await rolled_back(conn)
            async with conn.transaction():
                after_commit(conn, lambda: seen.append("outer"))
                with pytest.raises(asyncpg.DivisionByZeroError):
                    await savepoint_fails(conn)
            after_commit(conn, lambda: seen.append("no transaction"))
    finally:
        await pool.close()
    assert seen == ["committed", "outer", "no transaction"]
