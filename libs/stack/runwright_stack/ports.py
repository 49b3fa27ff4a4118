"""Loopback ports: pick a free one, wait until one accepts connections."""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Callable
from pathlib import Path

LISTEN_PORTS = (20000, 32767)
"""Where servers we start listen: below Linux's usual ephemeral range (32768-60999), which
outgoing connections draw from. A port the kernel hands out with ``bind(0)`` is in that range,
so a client connecting elsewhere could take it before our server binds it."""


def _ephemeral() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A loopback port nothing listens on now, outside the range outgoing connections use."""
    low, high = _ephemeral()
    candidates = [p for p in range(*LISTEN_PORTS) if not low <= p <= high]
    for port in random.sample(candidates, 50):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # a crowded machine: let the kernel choose
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def wait_for_port(
    port: int,
    timeout: float,
    host: str = "127.0.0.1",
    *,
    while_waiting: Callable[[], None] | None = None,
) -> None:
    """Until something accepts connections on ``port``; ``while_waiting`` is called between tries
    (a check that raises when the process that should listen there has died)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if while_waiting is not None:
                while_waiting()
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:g}s") from None
            time.sleep(0.02)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False
