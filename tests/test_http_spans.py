"""The gateway's HTTP spans: one server span per request, named by its route template, a child of
the caller's W3C trace context when it sends one, with the URL's path alone (the query string may
hold a token), an error status on a 5xx answer, and none for the probes. A small Litestar app with
the gateway's middleware and this test's own tracer provider (the process's stays as it is)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import runwright_gateway.telemetry as telemetry
from litestar import Litestar, get, post
from litestar.params import FromPath
from litestar.testing import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, get_current_span
from support.spans import spans_of

TOKEN = "canary-8c41d2-a-token-never-in-a-span"
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


@post("/api/v1/jobs/{job_id:str}/cancel", status_code=202)
async def cancel(job_id: FromPath[str]) -> dict[str, str]:
    current = get_current_span().get_span_context()
    return {"job": job_id, "span": format(current.span_id, "016x")}


@get("/api/v1/boom")
async def boom() -> None:
    raise RuntimeError(TOKEN)


@get("/healthz")
async def healthz() -> str:
    return "ok"


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    with spans_of(telemetry, monkeypatch) as exporter:
        yield exporter


@pytest.fixture
def client() -> Iterator[TestClient[Litestar]]:
    app = Litestar([cancel, boom, healthz], middleware=telemetry.middleware(), debug=False)
    with TestClient(app) as test_client:
        yield test_client


def test_a_request_is_one_server_span_named_by_its_route_in_the_callers_trace(
    client: TestClient[Litestar], exported: InMemorySpanExporter
) -> None:
    response = client.post(
        f"/api/v1/jobs/j-1/cancel?token={TOKEN}",
        headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"},
    )
    assert response.status_code == 202
    [span] = exported.get_finished_spans()
    assert span.name == "POST /api/v1/jobs/{job_id}/cancel"
    assert span.kind is SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CALLER_SPAN
    assert response.json()["span"] == format(span.context.span_id, "016x"), "current inside"
    assert span.attributes["http.route"] == "/api/v1/jobs/{job_id}/cancel"
    assert span.attributes["http.method"] == "POST"
    assert span.attributes["http.status_code"] == 202
    assert span.attributes["http.target"] == "/api/v1/jobs/j-1/cancel"
    assert TOKEN not in repr(span.attributes)
    assert span.status.status_code is StatusCode.UNSET


def test_a_request_without_trace_context_starts_a_trace(
    client: TestClient[Litestar], exported: InMemorySpanExporter
) -> None:
    client.post("/api/v1/jobs/j-1/cancel")
    [span] = exported.get_finished_spans()
    assert span.parent is None


def test_a_server_error_is_an_error_span_without_the_exceptions_message(
    client: TestClient[Litestar], exported: InMemorySpanExporter
) -> None:
    assert client.get("/api/v1/boom").status_code == 500
    [span] = exported.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["http.status_code"] == 500
    assert TOKEN not in repr(span.attributes) + repr(span.events) + str(span.status.description)


def test_the_probes_make_no_span(
    client: TestClient[Litestar], exported: InMemorySpanExporter
) -> None:
    assert client.get("/healthz").status_code == 200
    assert exported.get_finished_spans() == ()
