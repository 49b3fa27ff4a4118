"""runwright_client's wire handling without a server: problem bodies, Retry-After, SSE frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from runwright_client.errors import api_error
from runwright_client.sse import EventCursor
from runwright_proto.events import StatusEvent


@pytest.mark.parametrize("as_date", [False, True])
def test_a_429_carries_retry_after_in_seconds(as_date: bool) -> None:
    later = datetime.now(UTC) + timedelta(seconds=30)
    header = format_datetime(later, usegmt=True) if as_date else "30"
    body = b'{"title":"Too many waiting jobs","status":429,"detail":"full","code":"queue_full"}'
    response = httpx.Response(
        429, content=body, headers={"Retry-After": header, "Content-Type": "application/json"}
    )
    error = api_error(response)
    assert error.problem.code == "queue_full"
    assert error.retry_after_s == pytest.approx(30, abs=2)


def test_an_error_body_that_is_not_a_problem_still_gives_one() -> None:
    error = api_error(httpx.Response(502, text="<html>bad gateway</html>"))
    assert (error.status, error.problem.title) == (502, "Bad Gateway")
    assert "bad gateway" in error.problem.detail


def test_the_event_cursor_reads_multi_line_frames_skips_comments_and_frames_and_repeats() -> None:
    cursor = EventCursor()
    lines = [
        ": runwright job events",
        "retry: 2500",
        "",
        "event: screenshot",
        'data: {"jpeg": ""}',
        "",
        "event: status",
        "id: 1",
        'data: {"type": "status", "job_id": "j", "seq": 1,',
        'data:  "at": "2026-01-01T00:00:00Z", "status": "running"}',
        "",
        "event: status",
        "id: 1",
        'data: {"type": "status", "job_id": "j", "seq": 1, "at": "2026-01-01T00:00:00Z", '
        '"status": "running"}',
        "",
    ]
    events = [e for e in map(cursor.feed, lines) if e is not None]
    assert len(events) == 1
    assert isinstance(events[0], StatusEvent)
    assert (cursor.last_id, cursor.done, cursor.parser.retry_ms) == (1, False, 2500)
    assert cursor.headers() == {"Last-Event-ID": "1"}
