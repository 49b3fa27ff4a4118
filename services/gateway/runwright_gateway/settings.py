from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta
from runwright_common.settings import CommonSettings


class GatewaySettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8080
    admin_token: str = ""
    admin_token_file: str = ""
    """Where the admin token is kept instead (``runwright admin-token rotate`` replaces it)."""
    request_timeout_s: float = 5.0
    sse_keepalive_s: float = 15.0
    sse_client_buffer: int = 512
    sse_window_events: Annotated[int, Meta(ge=100, le=10_000_000)] = 20_000
    """The workspace stream's in-memory window: clients resuming within it need no consumer."""
    sse_window_mb: Annotated[int, Meta(ge=1, le=65_536)] = 64
    env_prefix: str = "RUNWRIGHT_VAR_"
    artifact_dir: str = "artifacts"
    s3_endpoint: str = ""
    session_idle_s: Annotated[float, Meta(ge=60, le=30 * 24 * 3600)] = 8 * 3600
    """A console session ends after this long without a request."""
    session_max_s: Annotated[float, Meta(ge=300, le=365 * 24 * 3600)] = 7 * 24 * 3600
    """... and this long after signing in, whatever happens."""
    signin_account_limit: Annotated[int, Meta(ge=1)] = 10
    """Failed sign-ins per account within ``signin_window_s`` before 429."""
    signin_source_limit: Annotated[int, Meta(ge=1)] = 50
    """Failed sign-ins and bad bearer tokens per source address within the window before 429."""
    signin_window_s: Annotated[float, Meta(ge=1)] = 900
    submit_rate_workspace: Annotated[int, Meta(ge=1)] = 3000
    """Jobs a workspace may submit a minute through the API (batch rows count)."""
    submit_rate_caller: Annotated[int, Meta(ge=1)] = 1200
    """Jobs one key, person or the admin token may submit a minute in a workspace."""
    slack_signing_secret: str = ""
    """The Slack app's signing secret: verifies Approve/Reject clicks (empty: refused)."""
    slack_response_hosts: list[str] = msgspec.field(default_factory=lambda: ["hooks.slack.com"])
    """Hosts a Slack click's ``response_url`` may name: the decided message is updated there."""
    public_url: str = ""
    """The console's address as people reach it (for invitation links); the request's when unset."""
    smtp_host: str = ""
    """Invitations are mailed through this server when set; otherwise the link is shown."""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "runwright@localhost"
    smtp_starttls: bool = True
    oidc_issuer: str = ""
    """Single sign-on: the OpenID Connect provider's issuer URL (empty: no SSO). Its
    ``/.well-known/openid-configuration`` is read for the endpoints and keys."""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    """Empty for a public client (PKCE alone); else sent to the token endpoint."""
    oidc_scopes: str = "openid email profile"
    oidc_groups_claim: str = "groups"
    """The ID token (or userinfo) claim listing the person's groups, for ``oidc_role_map``."""
    oidc_role_map: dict[str, str | list[str]] = msgspec.field(default_factory=dict)
    """JSON: ``{"<group>": "<workspace>:<role>"}`` (or a list of them per group). Each sign-in
    creates or updates the memberships the person's groups map to (the highest role wins)."""
    oidc_default_workspace: str = ""
    """Where a first-time SSO person with no mapped group and no invitation joins (empty: they
    are refused)."""
    oidc_default_role: str = "viewer"
    oidc_label: str = "SSO"
    """The console's button says "Sign in with <label>"."""

    def __post_init__(self) -> None:
        from runwright_gateway.sso import check  # the SSO settings' format is that module's

        check(self)
