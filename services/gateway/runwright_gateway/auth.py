"""Who is calling: the bearer (the installation's admin token or an API key, or the console's
``runwright_session`` cookie), the workspace it acts in, and whether its role may do this."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from runwright_gateway import api_keys, permissions, workspaces
from runwright_gateway.permissions import Role
from runwright_gateway.problems import Problem, not_found

SESSION_COOKIE = "runwright_session"


def token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The console's session cookie (HttpOnly, SameSite=Strict): its value is the admin token."""
    value = connection.cookies.get(SESSION_COOKIE, "").strip()
    return value or None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def cross_site(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """Why a request is one another site made the browser send (its Fetch Metadata or Origin
    says so), or None. Clients that are not browsers send neither header."""
    site = connection.headers.get("sec-fetch-site")
    if site is not None:
        return None if site in ("same-origin", "none") else f"Sec-Fetch-Site is {site!r}"
    origin = connection.headers.get("origin")
    if origin is None:
        return None
    # The host alone: behind a proxy that ends TLS the scheme seen here is not the browser's.
    host = connection.headers.get("host", "")
    if origin.split("://", 1)[-1].lower() != host.lower():
        return f"Origin {origin!r} is not this host ({host})"
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking, and as what: the workspace a request acts in and the role it holds there."""

    workspace: str
    role: Role
    actor: str
    """What the records say did it: ``admin`` (the installation token) or ``key:<name>``."""
    key_id: UUID | None = None


WORKSPACE_HEADER = "x-workspace"
DEFAULT_WORKSPACE = "default"


def principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The principal ``authorize`` resolved for this request."""
    found: Principal = connection.state.principal
    return found


def unauthorized(detail: str, error: str | None = None) -> Problem:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return Problem(
        401, "Unauthorized", detail, code="unauthorized", headers={"WWW-Authenticate": challenge}
    )


def admin_token_valid(connection: ASGIConnection[Any, Any, Any, Any], given: str) -> bool:
    expected: str = connection.app.state.settings.admin_token
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def authorize(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The one guard of every API route: the route's rule in ``permissions.RULES`` (none: 403,
    so nothing is open by omission), then the caller's credential, workspace and role. Async, so
    Litestar calls it on the event loop rather than handing it to a thread."""
    method = str(connection.scope.get("method", "GET"))
    route = str(connection.scope.get("path_template", ""))
    known, needed = permissions.required(method, route)
    if not known:
        raise Problem(403, "Forbidden", "no permission rule covers this operation", code="no_rule")
    if needed is None:
        return
    found = await authenticate(connection)
    if found.role < needed:
        raise Problem(
            403,
            "Forbidden",
            f"this needs the {needed.label} role or higher; the credential holds "
            f"{found.role.label} in workspace {found.workspace}",
            code="forbidden",
            required_role=needed.label,
        )
    connection.state.principal = found


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    bearer = token_of(connection)
    given = bearer or session_token(connection)
    # The session cookie is SameSite=Strict already; this refuses a cross-site change even from a
    # browser that ignores SameSite (defence in depth against CSRF).
    changes = connection.scope.get("method") not in SAFE_METHODS
    if bearer is None and given is not None and changes and cross_site(connection):
        raise Problem(
            403,
            "Forbidden",
            "a change sent from another site with the console's session is refused",
            code="cross_site_request",
        )
    if given is None:
        raise unauthorized("missing bearer token (Authorization: Bearer <token>)")
    asked = connection.headers.get(WORKSPACE_HEADER, "").strip() or None
    pool = connection.app.state.pool
    if admin_token_valid(connection, given):
        workspace = asked or DEFAULT_WORKSPACE
        if workspace != DEFAULT_WORKSPACE and not await workspaces.exists(pool, workspace):
            raise not_found(f"workspace {workspace}")
        return Principal(workspace, Role.INSTALLATION, "admin")
    row = await api_keys.lookup(pool, given) if api_keys.looks_like_key(given) else None
    if row is None:
        raise unauthorized("the bearer token is not valid", "invalid_token")
    if row["revoked_at"] is not None:
        raise unauthorized("the API key was revoked", "invalid_token")
    if row["expired"]:
        raise unauthorized("the API key has expired", "invalid_token")
    if asked is not None and asked != row["workspace"]:
        # A key acts in its own workspace only; another's existence is not revealed.
        raise not_found(f"workspace {asked}")
    return Principal(row["workspace"], Role.named(row["role"]), f"key:{row['name']}", row["id"])
