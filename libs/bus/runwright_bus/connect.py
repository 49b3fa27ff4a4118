"""Connecting to NATS: wait for the port first (a refused first connect costs seconds)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import nats
from nats.aio.client import Client
from runwright_common.logging import get_logger

log = get_logger("runwright.bus")


def _address(url: str) -> tuple[str, int]:
    parsed = urlparse(url if "://" in url else f"nats://{url}")
    return parsed.hostname or "127.0.0.1", parsed.port or 4222


async def wait_for_port(url: str, timeout: float = 30.0) -> None:
    """Until one of the servers in ``url`` (comma-separated: a cluster's nodes) accepts a
    connection; a node that is down does not hold a service back while another is up."""
    addresses = [_address(part.strip()) for part in url.split(",") if part.strip()]
    deadline = time.monotonic() + timeout
    while True:
        for host, port in addresses:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                continue
            writer.close()
            return
        if time.monotonic() > deadline:
            raise OSError(f"no NATS server accepts connections at {url}")
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
        servers=[part.strip() for part in url.split(",") if part.strip()],
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
