"""The instrumentation benchmark's floor (``tests/bench/span_floor.py``) is what its figure says it
is: per traced request exactly the two spans a Runwright submission passes through, the
responder's a child of the HTTP one, in one trace, the request carried over NATS; untraced,
none."""

from __future__ import annotations

import time

import httpx
import pytest
from support.otlp import otlp_receiver

from tests.bench.instrumentation import floor

pytestmark = pytest.mark.e2e
REQUESTS = 3


def test_a_traced_request_is_two_spans_in_one_trace_and_an_untraced_one_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # the processes export at once
    with otlp_receiver() as receiver, floor(receiver.url) as urls, httpx.Client() as client:
        for side in ("floor on", "floor off"):
            for number in range(REQUESTS):
                answer = client.post(f"{urls[side]}/submit", json={"request": number})
                assert answer.status_code == 201
                assert answer.json() == {"request": number}, "the responder answered it"
        deadline = time.monotonic() + 20
        while len(receiver.spans()) < 2 * REQUESTS and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # anything more would have come by now
        spans = receiver.spans()

    assert len(spans) == 2 * REQUESTS, receiver.as_dicts()
    traces = {span.trace_id for span in spans}
    assert len(traces) == REQUESTS, "one trace per request"
    for trace_id in traces:
        mine = {span.service: span for span in spans if span.trace_id == trace_id}
        http, answer = mine["runwright-floor-http"], mine["runwright-floor-answer"]
        assert (http.name, http.parent_id) == ("POST /submit", "")
        assert (answer.name, answer.parent_id) == ("serve floor.submit.on", http.span_id)
