"""``python -m runwright_gateway``: serve the API with uvicorn until SIGTERM."""

from __future__ import annotations

import uvicorn
from runwright_common.errors import SettingsError
from runwright_common.settings import load

from runwright_gateway.app import create_app
from runwright_gateway.settings import GatewaySettings


async def main() -> None:
    settings = load(GatewaySettings)
    if not settings.admin_token:
        raise SettingsError("RUNWRIGHT_ADMIN_TOKEN: required; the API refuses to run open")
    config = uvicorn.Config(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        loop="none",
    )
    await uvicorn.Server(config).serve()
