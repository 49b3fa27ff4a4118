"""OpenTelemetry tracing, configured by the standard ``OTEL_*`` variables.

W3C trace context (and baggage) travels in NATS headers (see ``runwright_bus``) and is stored beside
every outbox row (see ``runwright_db.outbox``), so one job is one trace. ``OTEL_SDK_DISABLED=true``
turns tracing off altogether: no provider is installed and no span is recorded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Link

_provider: TracerProvider | None = None

SLOW_STATEMENT_MS = 5.0
"""A database statement this slow or slower is a span (``RUNWRIGHT_TRACE_DB_SLOW_MS``; see
``runwright_db.tracing``)."""
_slow_statement_ns = int(SLOW_STATEMENT_MS * 1_000_000)

JOB_KEYS = ("job_id", "attempt", "workspace")
"""What a job's messages carry in their baggage (``runwright.<key>``), so that every service
handling one of them can say which job, attempt and workspace its log lines are about."""


def disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: tracing is off (the standard variable)."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def _exporting() -> bool:
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or any(
        os.environ.get(name)
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(
    service: str, *, slow_statement_ms: float = SLOW_STATEMENT_MS
) -> TracerProvider | None:
    """Install a tracer provider; export over OTLP/HTTP when an endpoint is configured.
    A database statement becomes a span when it took ``slow_statement_ms`` or longer (0: every
    statement).

    The SDK reads the rest from the standard variables: the sampler (``OTEL_TRACES_SAMPLER``),
    the batching (``OTEL_BSP_*``), the resource (``OTEL_SERVICE_NAME`` wins over the default
    ``runwright-<service>``, ``OTEL_RESOURCE_ATTRIBUTES``)."""
    global _provider, _slow_statement_ns
    _slow_statement_ns = int(slow_statement_ms * 1_000_000)
    if disabled():
        return None
    attributes = (
        {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"runwright-{service}"}
    )
    resource = Resource.create(attributes)
    provider = TracerProvider(resource=resource)
    if _exporting():
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def slow_statement_ns() -> int:
    """How long a database statement takes before it is a span, in nanoseconds."""
    return _slow_statement_ns


def shutdown_tracing() -> None:
    if _provider is not None:
        _provider.shutdown()


@cache
def tracer(name: str) -> trace.Tracer:
    """The tracer called ``name``, made once: the SDK's ``get_tracer`` costs more than a span
    (it builds the scope and adds a warnings filter on every call), and callers ask per message.
    One asked for before the provider is installed is a proxy that finds it once it is."""
    return trace.get_tracer(name)


def inject_headers(headers: dict[str, str], context: Context | None = None) -> dict[str, str]:
    propagate.inject(headers, context=context)
    return headers


def extract_context(headers: Mapping[str, str] | None) -> Context:
    return propagate.extract(dict(headers or {}))


def current_carrier() -> dict[str, str]:
    """The current trace context (and baggage) as W3C headers: empty when there is none."""
    return inject_headers({})


def with_job(context: Context | None = None, **job: object) -> Context:
    """``context`` (default: the current one) with the job's ids in its baggage."""
    result = context if context is not None else otel_context.get_current()
    for key, value in job.items():
        if value is not None and value != "":
            result = baggage.set_baggage(f"runwright.{key}", str(value), context=result)
    return result


def job_baggage(context: Context | None = None) -> dict[str, str]:
    """The job ids a context carries in its baggage (see :func:`with_job`)."""
    found = {}
    for key in JOB_KEYS:
        value = baggage.get_baggage(f"runwright.{key}", context)
        if value is not None:
            found[key] = str(value)
    return found


def job_span_parent(job_trace: Mapping[str, str] | None) -> tuple[Context | None, list[Link]]:
    """Where a span about a job goes, given the job's own trace context: under the current span
    when that is in the job's trace (a report's handling); under the job's trace when there is no
    current span (a timer, the reaper); under the current span but linked to the job's trace when
    the current one is another trace (a person's action over HTTP)."""
    current = trace.get_current_span().get_span_context()
    job = trace.get_current_span(extract_context(job_trace)).get_span_context()
    if not job.is_valid or (current.is_valid and current.trace_id == job.trace_id):
        return None, []
    if not current.is_valid:
        return extract_context(job_trace), []
    return None, [Link(job)]


@contextmanager
def attached(context: Context) -> Iterator[None]:
    """Make ``context`` current inside the block."""
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)
