"""Settings: one frozen Struct per service, read from ``RUNWRIGHT_*`` environment variables.

A field ``nats_url`` is read from ``RUNWRIGHT_NATS_URL``; a few well-known names (``DATABASE_URL``,
``NATS_URL``) are accepted as aliases. A bad value stops the service with a message naming the
variable.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import msgspec

from runwright_common.errors import SettingsError
from runwright_common.tracing import SLOW_STATEMENT_MS

T = TypeVar("T", bound=msgspec.Struct)

PREFIX = "RUNWRIGHT_"
ALIASES = {"database_url": "DATABASE_URL", "nats_url": "NATS_URL"}


def env_name(field: str) -> str:
    return PREFIX + field.upper()


def load(cls: type[T], environ: Mapping[str, str] | None = None) -> T:
    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        raw = environ.get(env_name(field.name))
        if raw is None and field.name in ALIASES:
            raw = environ.get(ALIASES[field.name])
        if raw is None or raw == "":
            continue
        data[field.name] = _parse(raw)
    try:
        return msgspec.convert(data, cls, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        for field in msgspec.structs.fields(cls):
            if f"`$.{field.name}`" in message or f"`{field.name}`" in message:
                reason = message.split(" - at ")[0]
                raise SettingsError(f"{env_name(field.name)}: {reason}") from exc
        raise SettingsError(message) from exc


def _parse(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return raw
    return raw


class CommonSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Fields every service reads."""

    nats_url: str = "nats://127.0.0.1:4222"
    nats_user: str = ""
    """``RUNWRIGHT_NATS_USER``: this service's NATS user (its subject permissions are the server's
    to enforce; see runwright_proto.permissions). Empty: connect without credentials."""
    nats_password: str = ""
    log_format: str = "auto"
    log_level: str = "info"
    health_port: int = 0
    """``RUNWRIGHT_HEALTH_PORT``: ``/healthz``, ``/readyz`` and ``/metrics`` (0: not served)."""
    metrics: bool = True
    """``RUNWRIGHT_METRICS``: record Prometheus metrics and serve ``/metrics`` (0: off)."""
    trace_db_slow_ms: Annotated[float, msgspec.Meta(ge=0)] = SLOW_STATEMENT_MS
    """``RUNWRIGHT_TRACE_DB_SLOW_MS``: with tracing on, a database statement that took this long
    or longer (or failed) is a span; 0: every statement."""
    instance: str = ""
    migrate_on_start: bool = True
    """``RUNWRIGHT_MIGRATE_ON_START``: a service with tables migrates its schema as it starts;
    false: it only checks the schema is at the versions it knows (``runwright migrate`` ran) and
    refuses to start otherwise."""
