"""Connecting to NATS: wait for the port first (a refused first connect costs seconds)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import nats
from nats.aio.client import Client
from runwright_common.logging import get_logger

log = get_logger("runwright.bus")


async def wait_for_port(url: str, timeout: float = 30.0) -> None:
    first = url.split(",")[0]
    parsed = urlparse(first if "://" in first else f"nats://{first}")
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 4222
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def connect(
    url: str,
    name: str,
    timeout: float = 30.0,
    *,
    user: str = "",
    password: str = "",
    inbox_prefix: str = "_INBOX",
) -> Client:
    """Connect with endless reconnects and callbacks that log instead of printing tracebacks.

    ``user``/``password`` name the service to nats-server, which enforces its subjects;
    ``inbox_prefix`` is where its replies arrive (its own, so no one else may read them)."""
    await wait_for_port(url, timeout)

    async def on_error(exc: Exception) -> None:
        log.warning("nats error", error=str(exc) or type(exc).__name__)

    async def on_disconnected() -> None:
        log.warning("nats disconnected")

    async def on_reconnected() -> None:
        log.info("nats reconnected")

    return await nats.connect(
        servers=url.split(","),
        name=name,
        error_cb=on_error,
        disconnected_cb=on_disconnected,
        reconnected_cb=on_reconnected,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        connect_timeout=5,
        ping_interval=10,
        max_outstanding_pings=3,
        user=user or None,
        password=password or None,
        inbox_prefix=inbox_prefix,
    )
