from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from runwright_common.settings import CommonSettings


class GatewaySettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    admin_token: str = ""
    request_timeout_s: float = 5.0
    sse_keepalive_s: float = 15.0
    sse_client_buffer: int = 512
    sse_window_events: Annotated[int, Meta(ge=100, le=10_000_000)] = 20_000
    """The workspace stream's in-memory window: clients resuming within it need no consumer."""
    sse_window_mb: Annotated[int, Meta(ge=1, le=65_536)] = 64
    env_prefix: str = "RUNWRIGHT_VAR_"
    artifact_dir: str = "artifacts"
    s3_endpoint: str = ""
