"""Readiness and metrics over HTTP for Kubernetes probes and Prometheus (``RUNWRIGHT_HEALTH_PORT``);
NATS health is in bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from runwright_common import metrics

Checks = Callable[[], Awaitable[dict[str, str]]]


async def _answer(path: str, checks: Checks) -> tuple[int, str, bytes]:
    """(status, content type, body) for ``path``."""
    if path.startswith("/metrics"):
        if not metrics.enabled():
            return 404, "text/plain", b"metrics are off (RUNWRIGHT_METRICS=0)\n"
        return 200, metrics.CONTENT_TYPE, await metrics.exposition()
    if path.startswith("/readyz"):
        results = await checks()
        ready = all(v == "ok" for v in results.values())
        body = {"ready": ready, "checks": results}
        return (200 if ready else 503), "application/json", json.dumps(body).encode()
    return 200, "application/json", json.dumps({"alive": True}).encode()


async def _skip_headers(reader: asyncio.StreamReader) -> None:
    """Read the request's headers: closing with them unread would reset the connection, and a
    client (Prometheus) could lose the answer."""
    while await asyncio.wait_for(reader.readline(), 5) not in (b"\r\n", b"\n", b""):
        pass


REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


async def serve_http_health(
    port: int,
    checks: Checks,
    host: str = "0.0.0.0",  # noqa: S104 - probes come from the kubelet
) -> asyncio.Server:
    """``GET /healthz`` (alive), ``GET /readyz`` (every check says "ok") and ``GET /metrics``
    (Prometheus text format) on ``port``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            path = line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "/"
            await _skip_headers(reader)
            status, kind, payload = await _answer(path, checks)
            writer.write(
                f"HTTP/1.1 {status} {REASONS[status]}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError, UnicodeDecodeError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)
