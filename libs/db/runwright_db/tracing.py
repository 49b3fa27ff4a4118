"""Database spans for slow statements only.

Every statement on a pool's connection is timed (two clock reads, in the frame that already wraps
it: see ``runwright_db.after_commit``); one that took at least ``RUNWRIGHT_TRACE_DB_SLOW_MS`` (5 ms
unless set; 0: every statement), or that failed, becomes a span afterwards, with the statement's
real start and end, as a child of the span that was current while it ran. A statement made outside
any span of ours (an outbox sweep, a timer, a health check) starts no trace of its own. Statements
are recorded with their placeholders, never their parameters.

A span for every statement (the asyncpg instrumentation's way) made ten of a submission's fourteen
spans and about half of what tracing added to its latency (measured beside ``make bench
BENCH_ARGS=instrumentation``). A statement that took under a few milliseconds says nothing a
trace needs; a slow one, a slow ``COMMIT`` included, is kept.
"""

from __future__ import annotations

import re
import time

import asyncpg
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from runwright_common.tracing import disabled, slow_statement_ns

from runwright_db.after_commit import HookedConnection

_tracer = trace.get_tracer("runwright_db")
_FIRST_WORD = re.compile(r"\s*(?:/\*.*?\*/\s*)*(\w+)", re.DOTALL)
"""A statement's first word, after any leading comments."""


class TracedConnection(HookedConnection):
    """A pool's connection when tracing is on: a statement that was slow or failed becomes a span
    (see the module's docstring)."""

    def finished(self, query: str, started: int, failed: Exception | None) -> None:
        ended = time.time_ns()
        if failed is not None or ended - started >= slow_statement_ns():
            record_statement(self, query, started, ended, failed)


def record_statement(
    conn: asyncpg.Connection, query: str, started: int, ended: int, failed: Exception | None
) -> None:
    """The statement's span, started and ended at the given times (nanoseconds since the epoch),
    under the current span; nothing when no span of ours is current or it is not sampled."""
    if not trace.get_current_span().is_recording():
        return
    span = _tracer.start_span(
        operation(query),
        kind=SpanKind.CLIENT,
        attributes=_attributes(conn, query),
        start_time=started,
    )
    if failed is not None:
        span.set_status(Status(StatusCode.ERROR, type(failed).__qualname__))
    span.end(end_time=ended)


def operation(query: str) -> str:
    """The span's name: the statement's first word (``SELECT``, ``INSERT``, ``COMMIT``…)."""
    first = _FIRST_WORD.match(query)
    return first[1].upper() if first else "postgresql"


def _attributes(conn: asyncpg.Connection, query: str) -> dict[str, str | int]:
    """The attributes the OpenTelemetry conventions name for a database client's span."""
    found: dict[str, str | int] = {"db.system": "postgresql", "db.statement": query}
    params = getattr(conn, "_params", None)
    if database := getattr(params, "database", None):
        found["db.name"] = database
    if user := getattr(params, "user", None):
        found["db.user"] = user
    addr = getattr(conn, "_addr", None)
    if isinstance(addr, tuple):
        found["net.peer.name"], found["net.peer.port"] = addr[0], addr[1]
    elif isinstance(addr, str):
        found["net.peer.name"] = addr
    return found


def connection_class() -> type[HookedConnection]:
    """What a pool hands out: timed connections, or plain ones with tracing off
    (``OTEL_SDK_DISABLED=true``)."""
    return HookedConnection if disabled() else TracedConnection
