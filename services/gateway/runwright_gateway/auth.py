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


def require_token(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    expected: str = connection.app.state.settings.admin_token
    given = token_of(connection) or session_token(connection)
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
