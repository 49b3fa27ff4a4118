"""Database spans through the official asyncpg instrumentation, only inside a span of ours: a
query made outside any (an outbox sweep, a timer, a health check) starts no trace of its own.
Statements are recorded with their placeholders, never their parameters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from runwright_common.tracing import disabled

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")
"""Statements that make no span: a transaction's edges say nothing its statements do not, and
they are a fifth of a submission's spans (measured by ``make bench BENCH_ARGS=instrumentation``)."""


def _wanted(name: str, context: Any) -> bool:
    """Only a statement inside a span of ours, and not a transaction's edge."""
    if name.lstrip().upper().startswith(TRANSACTION_CONTROL):
        return False
    return trace.get_current_span(context).get_span_context().is_valid


class _ChildTracer(trace.Tracer):
    def __init__(self, inner: trace.Tracer) -> None:
        self._inner = inner

    def start_span(self, name: str, context: Any = None, *args: Any, **kwargs: Any) -> trace.Span:
        if not _wanted(name, context):
            return trace.INVALID_SPAN
        return self._inner.start_span(name, context, *args, **kwargs)

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: Any = None, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        if not _wanted(name, context):
            yield trace.INVALID_SPAN
            return
        with self._inner.start_as_current_span(name, context, *args, **kwargs) as span:
            yield span


class _ChildSpansOnly(trace.TracerProvider):
    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _ChildTracer(trace.get_tracer_provider().get_tracer(*args, **kwargs))


def instrument_asyncpg() -> None:
    """Once per process, unless tracing is off (``OTEL_SDK_DISABLED=true``)."""
    instrumentor = AsyncPGInstrumentor()  # type: ignore[no-untyped-call]
    if disabled() or instrumentor.is_instrumented_by_opentelemetry:
        return
    instrumentor.instrument(tracer_provider=_ChildSpansOnly())
