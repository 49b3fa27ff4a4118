"""structlog, configured once per process: JSON in production, pretty in a terminal, redacted."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog

from runwright_common.redaction import redact


def _redact_event(
    _: Any,
    __: str,
    event_dict: MutableMapping[str, Any],
) -> MutableMapping[str, Any]:
    return redact(dict(event_dict))  # type: ignore[no-any-return]


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
        stream=sys.stderr,
        format=f"%(asctime)s {service} %(name)s %(levelname)s %(message)s",
    )


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
