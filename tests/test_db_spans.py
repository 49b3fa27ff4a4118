"""Database spans: a statement inside a span of ours becomes a span of its own only when it was
slow (``RUNWRIGHT_TRACE_DB_SLOW_MS``, 5 ms unless set) or failed, afterwards, with its real start
and end, as a child of the span it ran in. On the real PostgreSQL, with this test's own tracer
provider (the process's stays as it is)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import runwright_db.tracing as db_tracing
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from runwright_common.errors import SettingsError
from runwright_common.settings import CommonSettings, load
from runwright_common.tracing import SLOW_STATEMENT_MS
from runwright_db import create_pool
from runwright_db.tracing import TracedConnection, connection_class
from runwright_stack.stack import Stack
from support.spans import spans_of

pytestmark = pytest.mark.e2e

SLOW = "SELECT pg_sleep(0.05)"
FAST = "SELECT 1"
FAILING = "SELECT 1 / 0"
CANARY = "canary-5e1d7a-a-parameter-never-in-a-span"


@pytest.fixture
def exported(monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    with spans_of(db_tracing, monkeypatch) as exporter:
        yield exporter


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    db = await create_pool(stack.database_url, max_size=2)
    yield db
    await db.close()


def statements(exporter: InMemorySpanExporter, query: str | None = None) -> list[ReadableSpan]:
    """The database spans (of ``query`` alone, if given: on a loaded machine the pool's reset of a
    released connection may be slow too)."""
    return [
        s
        for s in exporter.get_finished_spans()
        if s.attributes.get("db.system") and query in (None, s.attributes.get("db.statement"))
    ]


def test_a_pool_times_its_statements_while_tracing_is_on() -> None:
    assert connection_class() is TracedConnection


def test_the_threshold_is_a_setting_of_every_service() -> None:
    assert load(CommonSettings, {}).trace_db_slow_ms == SLOW_STATEMENT_MS == 5.0
    assert load(CommonSettings, {"RUNWRIGHT_TRACE_DB_SLOW_MS": "0"}).trace_db_slow_ms == 0
    with pytest.raises(SettingsError, match="RUNWRIGHT_TRACE_DB_SLOW_MS"):
        load(CommonSettings, {"RUNWRIGHT_TRACE_DB_SLOW_MS": "-1"})


async def test_a_slow_statement_is_a_child_span_with_its_real_start_and_end(
    pool: asyncpg.Pool, exported: InMemorySpanExporter
) -> None:
    with db_tracing._tracer.start_as_current_span("serve submit") as parent:
        before = time.time_ns()
        await pool.fetchval(SLOW)
        after = time.time_ns()
    [span] = statements(exported, SLOW)
    assert span.name == "SELECT"
    assert span.kind is SpanKind.CLIENT
    assert span.attributes["db.statement"] == SLOW
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id
    assert span.start_time is not None
    assert span.end_time is not None
    assert before <= span.start_time < span.end_time <= after
    assert span.end_time - span.start_time >= 50_000_000  # the 50 ms it slept
    assert span.status.status_code is StatusCode.UNSET


async def test_a_fast_statement_and_its_transaction_make_no_span(
    pool: asyncpg.Pool, exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A threshold far above what these take even on a loaded machine (5 ms is not, always).
    monkeypatch.setattr(db_tracing, "slow_statement_ns", lambda: 1_000_000_000)
    with db_tracing._tracer.start_as_current_span("serve submit"):
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchval(FAST)
    assert statements(exported) == []


async def test_a_slow_statement_outside_any_span_starts_no_trace(
    pool: asyncpg.Pool, exported: InMemorySpanExporter
) -> None:
    await pool.fetchval(SLOW)
    assert exported.get_finished_spans() == ()


async def test_a_failed_statement_is_a_span_however_fast(
    pool: asyncpg.Pool, exported: InMemorySpanExporter
) -> None:
    with (
        db_tracing._tracer.start_as_current_span("serve submit"),
        pytest.raises(asyncpg.DivisionByZeroError),
    ):
        await pool.fetchval(FAILING)
    [span] = statements(exported, FAILING)
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "DivisionByZeroError"


async def test_a_threshold_of_zero_makes_every_statement_a_span(
    pool: asyncpg.Pool, exported: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_tracing, "slow_statement_ns", lambda: 0)
    with db_tracing._tracer.start_as_current_span("serve submit"):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT $1::text", CANARY)
    names = [s.name for s in statements(exported)]
    assert names[:3] == ["BEGIN", "SELECT", "COMMIT"]
    assert not [s for s in statements(exported) if CANARY in repr(s.attributes)], "no parameters"
