"""How a job's trace context travels: W3C headers with the job's ids in baggage, where a span
about a job goes, and OTEL_SDK_DISABLED turning tracing off."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from opentelemetry.sdk.trace import TracerProvider
from runwright_common.tracing import (
    attached,
    extract_context,
    inject_headers,
    job_baggage,
    job_span_parent,
    with_job,
)

tracer = TracerProvider().get_tracer("test")  # this test's own: the process's stays as it is


def test_the_jobs_ids_travel_in_baggage_beside_the_trace_context() -> None:
    with tracer.start_as_current_span("submit") as span:
        headers = inject_headers({}, with_job(job_id="j-1", workspace="acme", attempt=2))
    assert headers["traceparent"].split("-")[2] == format(span.get_span_context().span_id, "016x")
    received = extract_context(headers)
    assert job_baggage(received) == {"job_id": "j-1", "attempt": "2", "workspace": "acme"}


def test_a_span_about_a_job_joins_the_jobs_trace() -> None:
    with tracer.start_as_current_span("submit") as submit:
        job_trace = inject_headers({})
    job_trace_id = submit.get_span_context().trace_id

    # A report's handling is already in the job's trace: the current span stays the parent.
    with attached(extract_context(job_trace)), tracer.start_as_current_span("report"):
        assert job_span_parent(job_trace) == (None, [])

    # A timer's pass has no span: the job's trace is the parent.
    parent, links = job_span_parent(job_trace)
    assert links == []
    with tracer.start_as_current_span("job status", parent) as status:
        assert status.get_span_context().trace_id == job_trace_id

    # A person's request is another trace: it stays the parent, linked to the job's.
    with tracer.start_as_current_span("POST /api/v1/jobs/{job_id}/cancel"):
        parent, links = job_span_parent(job_trace)
        assert parent is None
        assert [link.context.trace_id for link in links] == [job_trace_id]

    # A job recorded before traces were kept: nothing to join.
    assert job_span_parent(None) == (None, [])


def test_otel_sdk_disabled_turns_tracing_off() -> None:
    script = textwrap.dedent(
        """
        from opentelemetry import trace
        from runwright_common.tracing import configure_tracing, current_carrier
        from runwright_gateway.telemetry import middleware
        assert configure_tracing("queue") is None
        with trace.get_tracer("t").start_as_current_span("x") as span:
            assert not span.is_recording()
            assert "traceparent" not in current_carrier()
        assert middleware() == []
        print("off")
        """
    )
    env = {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "off"


def test_a_callers_baggage_stops_where_the_job_is_recorded() -> None:
    from types import SimpleNamespace

    from runwright_queue.submission import job_trace

    sent = {"baggage": "runwright.attempt=99,big=" + "x" * 100}
    cmd = SimpleNamespace(job_id="j-1", workspace="acme")
    with attached(extract_context(sent)), tracer.start_as_current_span("serve submit"):
        stored = job_trace(cmd)  # type: ignore[arg-type]
    assert job_baggage(extract_context(stored)) == {"job_id": "j-1", "workspace": "acme"}
    assert "big" not in stored["baggage"]
