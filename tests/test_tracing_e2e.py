"""One job is one trace: the HTTP submit, the queue's record, the dispatch, the executor's claim,
one span per step, the artifacts' storage and every status change, as one tree received over
OTLP/HTTP by a stand-in collector on loopback. Real nats-server, PostgreSQL and Chromium."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest
from support.otlp import ReceivedSpan, Receiver, otlp_receiver
from support.runbooks import example
from support.stack import running_stack
from test_webhooks import Receiver as WebhookReceiver

pytestmark = pytest.mark.e2e

CANARY = "canary-3f9b0c1e-secret-never-in-a-span"
LOGIN_ACTIONS = ["navigate", "input", "input", "click", "wait"]


def _job_trace(receiver: Receiver, job_id: str) -> list[ReceivedSpan]:
    """The spans of the trace the job's run belongs to."""
    runs = [s for s in receiver.spans() if s.attributes.get("runwright.job.id") == job_id]
    if not runs:
        return []
    trace_id = runs[0].trace_id
    return [s for s in receiver.spans() if s.trace_id == trace_id]


def _complete(spans: list[ReceivedSpan]) -> bool:
    """The final status change is in, and no span waits for its parent (batches still coming)."""
    ids = {s.span_id for s in spans}
    done = any(
        s.name == "job status" and s.attributes.get("runwright.job.status") == "completed"
        for s in spans
    )
    return done and all(not s.parent_id or s.parent_id in ids for s in spans)


def _wait_for_trace(receiver: Receiver, job_id: str) -> list[ReceivedSpan]:
    deadline = time.monotonic() + 60
    spans = _job_trace(receiver, job_id)
    while not _complete(spans) and time.monotonic() < deadline:
        time.sleep(0.2)
        spans = _job_trace(receiver, job_id)
    return spans


def _approval_spans(receiver: Receiver, trace_id: str) -> list[ReceivedSpan]:
    """The webhooks' spans in the trace, once one has arrived (it may follow the last status)."""
    deadline = time.monotonic() + 30
    while True:
        found = [
            s
            for s in receiver.spans()
            if s.trace_id == trace_id and s.service == "runwright-approval"
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_job_is_one_trace_from_the_submit_to_its_last_status() -> None:
    with (
        WebhookReceiver() as webhook,
        otlp_receiver() as receiver,
        running_stack(
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "RUNWRIGHT_TRACE_DB_SLOW_MS": "0",  # every statement a span, however fast
            }
        ) as stack,
        httpx.Client(
            base_url=stack.gateway_url,
            timeout=30,
            headers={"Authorization": f"Bearer {stack.token}"},
        ) as api,
    ):
        demo_url = f"http://127.0.0.1:{stack.config.demo_port}"
        hook = api.post("/api/v1/webhooks", json={"url": webhook.url(), "events": ["job.finished"]})
        assert hook.status_code == 201, hook.text
        response = api.post(
            "/api/v1/jobs",
            params={"note": CANARY},  # a query string never goes into a span
            json={
                "runbook": example("login.yaml", demo_url),
                "variables": {"email": "ops@example.com"},
                "secrets": {"password": "demo", "unused": CANARY},
                "screenshots": True,
            },
        )
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 90
        while api.get(f"/api/v1/jobs/{job_id}").json()["status"] not in (
            "completed",
            "failed",
        ):
            assert time.monotonic() < deadline, "the job did not finish"
            time.sleep(0.2)
        assert api.get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed"
        spans = _wait_for_trace(receiver, job_id)
        webhooks = _approval_spans(receiver, spans[0].trace_id) if spans else []

    dump = [(s.service, s.name, s.span_id, s.parent_id) for s in spans]
    assert spans, f"no span names the job; received: {receiver.as_dicts()[:50]}"
    # One tree: one root, every parent present.
    ids = {s.span_id for s in spans}
    roots = [s for s in spans if not s.parent_id]
    assert len(roots) == 1, dump
    assert [p for p in (s.parent_id for s in spans) if p and p not in ids] == [], dump
    root = roots[0]
    assert (root.service, root.name) == ("runwright-gateway", "POST /api/v1/jobs"), dump
    assert root.attributes.get("http.route") == "/api/v1/jobs"
    names = Counter((s.service, s.name) for s in spans)
    # The queue recorded it; the executor took the dispatch (published from the outbox) and
    # claimed it; the artifact service stored its screenshots, the queue recorded them.
    assert names[("runwright-queue", "serve runwright.queue.submit")] == 1, dump
    dispatches = [s for s in spans if s.service == "runwright-executor" and "dispatch" in s.name]
    assert dispatches, dump
    assert any(s.service == "runwright-queue" and "claim" in s.name for s in spans), dump
    assert names[("runwright-executor", "job run")] == 1, dump
    assert any(s.service == "runwright-artifact" and s.name.startswith("consume") for s in spans)
    assert any(s.service == "runwright-queue" and "artifact" in s.name for s in spans), dump
    assert any(s.attributes.get("db.system") == "postgresql" for s in spans), dump
    # Exactly one span per step, each with its action type and outcome.
    steps = sorted(
        (s for s in spans if s.name == "runbook step"),
        key=lambda s: s.attributes["runwright.step.ordinal"],
    )
    assert [s.attributes["runwright.step.ordinal"] for s in steps] == [0, 1, 2, 3, 4], dump
    assert [s.attributes["runwright.step.action"] for s in steps] == LOGIN_ACTIONS
    assert {s.attributes["runwright.step.outcome"] for s in steps} == {"success"}
    assert all("runwright.step.retries" in s.attributes for s in steps)
    assert all(s.attributes.get("runwright.step.selector_strategy") for s in steps[1:4])
    # Every status change of the job, to the last.
    statuses = [
        s.attributes["runwright.job.status"]
        for s in spans
        if s.name == "job status" and s.attributes.get("runwright.job.id") == job_id
    ]
    assert "completed" in statuses, dump
    # The audit and the webhooks read every job event but act on a few: a span only for those.
    # The audit records changes no person or executor made (none here). The webhooks look at the
    # three status events (queued, running, completed), never at a step's or an artifact's, and
    # record a delivery for the one a webhook subscribed to (job.finished): one span, in the trace.
    assert names[("runwright-gateway", "consume gateway-audit")] == 0, dump
    consumed = [s for s in webhooks if s.name.startswith("consume")]
    assert [(s.name, s.attributes.get("runwright.webhooks")) for s in consumed] == [
        ("consume approval-notify", 1)
    ], dump
    assert {s.parent_id for s in consumed} <= {s.span_id for s in spans}, dump
    # Secrets never in a span.
    assert not [s for s in receiver.spans() if CANARY in repr(s.attributes)]


def test_otel_sdk_disabled_exports_nothing_and_jobs_still_run() -> None:
    with (
        otlp_receiver() as receiver,
        running_stack(
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
                "OTEL_BSP_SCHEDULE_DELAY": "100",
                "OTEL_SDK_DISABLED": "true",
            }
        ) as stack,
        httpx.Client(
            base_url=stack.gateway_url,
            timeout=30,
            headers={"Authorization": f"Bearer {stack.token}"},
        ) as api,
    ):
        demo_url = f"http://127.0.0.1:{stack.config.demo_port}"
        response = api.post(
            "/api/v1/jobs",
            json={
                "runbook": example("login.yaml", demo_url),
                "variables": {"email": "ops@example.com", "password": "demo"},
            },
        )
        assert response.status_code == 201, response.text
        job_id = response.json()["id"]
        deadline = time.monotonic() + 90
        while api.get(f"/api/v1/jobs/{job_id}").json()["status"] != "completed":
            assert time.monotonic() < deadline, "the job did not complete"
            time.sleep(0.2)
        time.sleep(1)  # ten export intervals: a span made anywhere would have arrived
        assert receiver.requests == 0, receiver.as_dicts()[:20]
        executor_log = (stack.config.data_dir / "logs").glob("executor*.log")
        lines = [json.loads(line) for log in executor_log for line in log.read_text().splitlines()]
        about = [line for line in lines if line.get("job_id") == job_id]
        assert about
        assert all(line["workspace"] == "default" and line["attempt"] == 1 for line in about)
        assert not any("trace_id" in line for line in about)
