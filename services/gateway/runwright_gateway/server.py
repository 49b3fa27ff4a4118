"""``python -m runwright_gateway``: serve the API with uvicorn until SIGTERM."""

from __future__ import annotations

import asyncio
import socket
from types import FrameType

import uvicorn
from litestar import Litestar
from runwright_common.errors import SettingsError
from runwright_common.settings import load

from runwright_gateway.app import create_app
from runwright_gateway.settings import GatewaySettings


class GatewayServer(uvicorn.Server):
    """Uvicorn, plus: on SIGTERM (or Ctrl-C) the gateway ends its event streams at once, so their
    clients resume elsewhere with ``Last-Event-ID`` instead of hanging on until the graceful
    shutdown's time runs out and being cut."""

    def __init__(self, config: uvicorn.Config, app: Litestar) -> None:
        super().__init__(config)
        self._app = app
        self._loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self._loop = asyncio.get_running_loop()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        hub = getattr(self._app.state, "hub", None)
        if hub is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(hub.close_streams)


async def main() -> None:
    settings = load(GatewaySettings)
    if not settings.admin_token and not settings.admin_token_file:
        raise SettingsError(
            "RUNWRIGHT_ADMIN_TOKEN or RUNWRIGHT_ADMIN_TOKEN_FILE: required; the API refuses to"
            " run open"
        )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        loop="none",
    )
    await GatewayServer(config, app).serve()
