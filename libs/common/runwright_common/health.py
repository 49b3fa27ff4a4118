"""Readiness over HTTP for Kubernetes probes (``RUNWRIGHT_HEALTH_PORT``); NATS health is in bus."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

Checks = Callable[[], Awaitable[dict[str, str]]]


async def serve_http_health(port: int, checks: Checks) -> asyncio.Server:
    """``GET /healthz`` (alive) and ``GET /readyz`` (every check says "ok") on ``port``."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            path = line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "/"
            if path.startswith("/readyz"):
                results = await checks()
                ready = all(v == "ok" for v in results.values())
                status, body = (200 if ready else 503), {"ready": ready, "checks": results}
            else:
                status, body = 200, {"alive": True}
            payload = json.dumps(body).encode()
            reason = "OK" if status == 200 else "Service Unavailable"
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, IndexError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "0.0.0.0", port)  # noqa: S104 - probes come from the kubelet
