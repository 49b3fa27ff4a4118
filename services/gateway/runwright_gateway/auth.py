"""Bearer-token authentication for the API (or the console's ``runwright_session`` cookie)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from runwright_gateway.problems import Problem

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


async def require_token(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Async, so Litestar calls it on the event loop rather than handing it to a thread."""
    expected: str = connection.app.state.settings.admin_token
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
        raise Problem(
            401,
            "Unauthorized",
            "missing bearer token (Authorization: Bearer <token>)",
            code="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Problem(
            401,
            "Unauthorized",
            "the bearer token is not valid",
            code="unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
