"""Serve an ASGI app in-process for tests: uvicorn in a background thread on a free port.

The context manager returns once the app listens and stops the server (waiting for the thread) on
exit; requests still in flight then are cut off after one second.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import uvicorn

STARTUP_TIMEOUT_S = 15.0
SHUTDOWN_TIMEOUT_S = 15.0


class _SignallingServer(uvicorn.Server):
    """A uvicorn server that sets ``ready`` when its start-up ends (``started`` says how)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


@contextmanager
def serving(app: Any, name: str, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` on ``host`` and a free port; yield its base URL (no trailing slash)."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=1,
        )
        server = _SignallingServer(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"{name}-{port}", daemon=True
        )
        thread.start()
        try:
            if not server.ready.wait(STARTUP_TIMEOUT_S) or not server.started:
                raise RuntimeError(f"{name} failed to start or took over {STARTUP_TIMEOUT_S} s")
            yield f"http://{host}:{port}"
        finally:
            server.should_exit = True
            thread.join(SHUTDOWN_TIMEOUT_S)
        if thread.is_alive():
            raise RuntimeError(f"{name} did not stop within {SHUTDOWN_TIMEOUT_S} s")
