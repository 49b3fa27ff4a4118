"""``/healthz`` (is the gateway working) and ``/readyz`` (is every service ready)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from nats.aio.client import Client
from runwright_bus import decode
from runwright_common.logging import get_logger
from runwright_proto import subjects
from runwright_proto.api.health import Health, ServiceHealth
from runwright_proto.commands import HealthReply

log = get_logger("runwright.gateway.health")

SERVICES = ("queue", "executor", "scheduler", "approval", "artifact")
DEPENDENCIES = {"nats": "nats", "database": "postgres", "store": "object-store"}
"""Which dependency a failing check names."""


async def _ping(nc: Client, service: str) -> ServiceHealth:
    try:
        reply = await nc.request(subjects.health(service), b"", timeout=0.5)
        health: HealthReply = decode(reply.data, HealthReply)
        return ServiceHealth(
            ready=health.ready,
            instance=health.instance,
            checks=health.checks,
            counters=health.counters,
        )
    except Exception as exc:
        log.warning("service did not answer the health check", service=service, error=repr(exc))
        return ServiceHealth(ready=False, error=type(exc).__name__)


async def report(request: Request[Any, Any, Any]) -> Health:
    state = request.app.state
    connected = state.nc.is_connected
    checks: dict[str, str] = {}
    try:
        await state.pool.fetchval("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        log.warning("database health check failed", error=repr(exc))
        checks["database"] = f"error: {type(exc).__name__}"
    pings = await asyncio.gather(*(_ping(state.nc, s) for s in SERVICES))
    services = dict(zip(SERVICES, pings, strict=True))
    # Read again after the pings: a server killed a moment ago is seen only once the client reads
    # its end of the socket, and the pings that timed out meanwhile are NATS's fault, not theirs.
    connected = connected and state.nc.is_connected
    checks = {"nats": "ok" if connected else "disconnected", **checks}
    healthy = all(v == "ok" for v in checks.values())
    return Health(
        status="ok" if healthy else "degraded",
        checks=checks,
        services=services,
        ready=healthy and all(s.ready for s in services.values()),
        down=down(checks, services),
    )


def down(checks: dict[str, str], services: dict[str, ServiceHealth]) -> list[str]:
    """What is not working, by name: a dependency any check finds down (``postgres``, ``nats``,
    ``object-store``), then a service that did not answer while NATS was up."""
    failing = [checks, *(s.checks for s in services.values())]
    found = {
        DEPENDENCIES[name]
        for results in failing
        for name, value in results.items()
        if name in DEPENDENCIES and value != "ok"
    }
    if "nats" not in found:
        found |= {name for name, s in services.items() if s.error is not None}
    return sorted(found)


def unwell(description: str) -> dict[int, ResponseSpec]:
    return {503: ResponseSpec(Health, False, description)}


@get("/healthz", responses=unwell("The gateway cannot reach NATS or PostgreSQL"))
async def healthz(request: Request[Any, Any, Any]) -> Response[Health]:
    """Is the gateway working (NATS and PostgreSQL reachable)? No token needed."""
    body = await report(request)
    return Response(body, status_code=200 if body.status == "ok" else 503)


@get("/readyz", responses=unwell("The gateway or some service is not ready"))
async def readyz(request: Request[Any, Any, Any]) -> Response[Health]:
    """Is every service ready? No token needed."""
    body = await report(request)
    return Response(body, status_code=200 if body.ready else 503)
