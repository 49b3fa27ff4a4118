"""``/healthz`` and ``/readyz``: how the gateway and each service are doing."""

from __future__ import annotations

from typing import Any

from msgspec import Struct


class ServiceHealth(Struct, kw_only=True):
    ready: bool
    instance: str | None = None
    checks: dict[str, Any] = {}
    counters: dict[str, int] = {}
    """Totals since the answering instance started (the executor's ``egress_blocked``)."""
    error: str | None = None
    """Why the service did not answer (its health request failed)."""


class Health(Struct, kw_only=True):
    status: str
    """``ok`` or ``degraded`` (the gateway's own checks)."""
    checks: dict[str, str]
    services: dict[str, ServiceHealth]
    ready: bool
    down: list[str] = []
    """What is not working: ``postgres``, ``nats`` or ``object-store`` when a check finds it
    unreachable, or a service that does not answer; empty when all is well."""
