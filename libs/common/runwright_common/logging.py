"""structlog, configured once per process: JSON in production, pretty in a terminal, redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import trace

from runwright_common.redaction import redact


def _redact_event(
    _: Any,
    __: str,
    event_dict: MutableMapping[str, Any],
) -> MutableMapping[str, Any]:
    return redact(dict(event_dict))  # type: ignore[no-any-return]


def add_trace_ids(
    _: Any,
    __: str,
    event_dict: MutableMapping[str, Any],
) -> MutableMapping[str, Any]:
    """``trace_id`` and ``span_id`` of the span current where the line is written (none outside
    a span, or with tracing off), as the hex strings trace viewers search for."""
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict.setdefault("trace_id", format(span.trace_id, "032x"))
        event_dict.setdefault("span_id", format(span.span_id, "016x"))
    return event_dict


def configure_logging(service: str, *, fmt: str = "auto", level: str = "info") -> None:
    pretty = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if pretty
        else structlog.processors.JSONRenderer()
    )
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            _redact_event,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(
        level=max(numeric, logging.WARNING),
        handlers=[_stdlib_handler(service, renderer)],
        force=True,
    )
    logging.captureWarnings(True)


def _stdlib_handler(service: str, renderer: Any) -> logging.Handler:
    """Lines from the standard library's logging (uvicorn, asyncpg, nats, Python warnings) in
    the same shape as structlog's: one JSON object a line in production."""

    def add_service(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
        event_dict.setdefault("service", service)
        return event_dict

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.stdlib.add_logger_name,
                structlog.contextvars.merge_contextvars,
                add_trace_ids,
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                add_service,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact_event,
                renderer,
            ],
        )
    )
    return handler


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


@contextmanager
def logged_failure(log: Any, event: str, **fields: Any) -> Iterator[None]:
    """Carry on past a failure that must not stop the caller, but never silently: the error is
    logged as a warning with ``event`` and ``fields`` (for best-effort clean-up and notices)."""
    try:
        yield
    except Exception as exc:
        log.warning(event, error=repr(exc), **fields)
