"""Correlated logs: with JSON logs, every line every service writes is one JSON object, and the
lines written while a job is handled name its job, attempt, workspace, trace and span without
anyone passing them by hand. Real nats-server, PostgreSQL and Chromium."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from support.runbooks import example
from support.stack import running_stack

pytestmark = pytest.mark.e2e

SERVICES = ("gateway", "queue", "executor", "artifact", "approval", "scheduler")
CORRELATED = ("job_id", "attempt", "workspace", "trace_id", "span_id")


def _service_logs(data_dir: Path) -> dict[str, list[str]]:
    logs = {}
    for path in sorted((data_dir / "logs").glob("*.log")):
        service = path.stem.split("-")[0]
        if service in SERVICES:
            logs[path.stem] = [line for line in path.read_text().splitlines() if line.strip()]
    return logs


def test_every_line_is_json_and_a_jobs_lines_name_the_job() -> None:
    seen: dict[str, list[str]] = {}
    with (
        running_stack(after_stop=lambda data_dir: seen.update(_service_logs(data_dir))) as stack,
        httpx.Client(
            base_url=stack.gateway_url,
            timeout=30,
            headers={"Authorization": f"Bearer {stack.token}"},
        ) as api,
    ):
        demo_url = f"http://127.0.0.1:{stack.config.demo_port}"
        response = api.post(
            "/api/v1/jobs?note=secret-query-value",
            json={
                "runbook": example("login.yaml", demo_url),
                "variables": {"email": "ops@example.com", "password": "demo"},
            },
        )
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + 90
        while api.get(f"/api/v1/jobs/{job_id}").json()["status"] != "completed":
            assert time.monotonic() < deadline, "the job did not complete"
            time.sleep(0.2)

    assert set(SERVICES) <= {name.split("-")[0] for name in seen}, sorted(seen)
    records: dict[str, list[dict[str, Any]]] = {}
    for name, lines in seen.items():
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                pytest.fail(f"{name} wrote a line that is not JSON: {line[:300]}")
            assert isinstance(record, dict), line
            records.setdefault(name.split("-")[0], []).append(record)

    for service in ("executor", "queue"):
        about = [r for r in records[service] if r.get("job_id") == job_id]
        assert about, f"the {service} wrote nothing about the job"
        for record in about:
            missing = [key for key in CORRELATED if not record.get(key)]
            assert not missing, f"{service} line without {missing}: {record}"
            assert record["workspace"] == "default"
            assert int(record["attempt"]) == 1
        assert len({r["trace_id"] for r in about}) == 1, about
    executor_trace = next(r for r in records["executor"] if r.get("job_id") == job_id)["trace_id"]
    queue_trace = next(r for r in records["queue"] if r.get("job_id") == job_id)["trace_id"]
    assert executor_trace == queue_trace

    access = [
        r
        for r in records["gateway"]
        if r.get("event") == "request" and r.get("request_id") == request_id
    ]
    assert len(access) == 1, [r for r in records["gateway"] if r.get("event") == "request"][:5]
    line = access[0]
    assert (line["method"], line["route"], line["status"]) == ("POST", "/api/v1/jobs", 201)
    assert line["workspace"] == "default"
    assert isinstance(line["duration_ms"], int | float)
    gateway_text = "\n".join(seen["gateway"])
    assert "secret-query-value" not in gateway_text
    assert "test-admin-token" not in gateway_text
