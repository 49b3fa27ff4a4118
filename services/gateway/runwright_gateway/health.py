"""``/healthz`` (is the gateway working) and ``/readyz`` (is every service ready)."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get
from nats.aio.client import Client
from runwright_bus import decode
from runwright_proto import subjects
from runwright_proto.commands import HealthReply

SERVICES = ("queue", "executor", "scheduler", "approval", "artifact")


async def _ping(nc: Client, service: str) -> dict[str, Any]:
    try:
        reply = await nc.request(subjects.health(service), b"", timeout=0.5)
        health: HealthReply = decode(reply.data, HealthReply)
        return {"ready": health.ready, "instance": health.instance, "checks": health.checks}
    except Exception as exc:
        return {"ready": False, "error": type(exc).__name__}


async def report(request: Request[Any, Any, Any]) -> dict[str, Any]:
    state = request.app.state
    checks = {"nats": "ok" if state.nc.is_connected else "disconnected"}
    try:
        await state.pool.fetchval("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    pings = await asyncio.gather(*(_ping(state.nc, s) for s in SERVICES))
    services = dict(zip(SERVICES, pings, strict=True))
    healthy = all(v == "ok" for v in checks.values())
    return {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "services": services,
        "ready": healthy and all(s["ready"] for s in services.values()),
    }


@get("/healthz", sync_to_thread=False, include_in_schema=True)
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    body = await report(request)
    return Response(body, status_code=200 if body["status"] == "ok" else 503)


@get("/readyz")
async def readyz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    body = await report(request)
    return Response(body, status_code=200 if body["ready"] else 503)
