"""Who is calling: the bearer (the installation's admin token or an API key) or the console's
``runwright_session`` cookie (a server-side session of a person, a key or the admin token), the
workspace it acts in, and whether its role may do this."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from runwright_gateway import (
    admin_token,
    api_keys,
    people,
    permissions,
    sessions,
    throttle,
    workspaces,
)
from runwright_gateway.permissions import Role
from runwright_gateway.problems import Problem, not_found

SESSION_COOKIE = sessions.COOKIE


def token_of(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def session_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The console's session cookie (HttpOnly, SameSite=Strict): a random session id."""
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
    """What the records say did it: ``admin`` (the installation token), ``key:<name>`` or
    ``user:<email>``."""
    key_id: UUID | None = None
    user_id: UUID | None = None
    session: str | None = None
    """The console session's cookie value, when the request came with one."""


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
    expected: str = connection.app.state.admin_token.current()
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def source(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    client = connection.client
    return client.host if client is not None else ""


def limits(connection: ASGIConnection[Any, Any, Any, Any]) -> throttle.Limits:
    settings = connection.app.state.settings
    return throttle.Limits(
        settings.signin_account_limit, settings.signin_source_limit, settings.signin_window_s
    )


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
    # Set before the role check, so a refusal is recorded with who was refused.
    connection.state.principal = found
    if found.role < needed:
        raise Problem(
            403,
            "Forbidden",
            f"this needs the {needed.label} role or higher; the credential holds "
            f"{found.role.label} in workspace {found.workspace}",
            code="forbidden",
            required_role=needed.label,
        )


async def refuse(connection: ASGIConnection[Any, Any, Any, Any], detail: str) -> Problem:
    """A bad credential: counted against the source address; past its limit the answer is 429."""
    pool, rules = connection.app.state.pool, limits(connection)
    await throttle.failed(pool, rules, None, source(connection))
    await throttle.check(pool, rules, None, source(connection))
    return unauthorized(detail, "invalid_token")


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    bearer = token_of(connection)
    cookie = None if bearer is not None else session_token(connection)
    # The session cookie is SameSite=Strict already; this refuses a cross-site change even from a
    # browser that ignores SameSite (defence in depth against CSRF).
    changes = connection.scope.get("method") not in SAFE_METHODS
    if cookie is not None and changes and cross_site(connection):
        raise Problem(
            403,
            "Forbidden",
            "a change sent from another site with the console's session is refused",
            code="cross_site_request",
        )
    asked = connection.headers.get(WORKSPACE_HEADER, "").strip() or None
    if bearer is not None:
        return await credential(connection, bearer, asked)
    if cookie is None:
        raise unauthorized("missing bearer token (Authorization: Bearer <token>)")
    return await from_session(connection, cookie, asked)


async def from_session(
    connection: ASGIConnection[Any, Any, Any, Any], cookie: str, asked: str | None
) -> Principal:
    """Who the live console session ``cookie`` names acts as: in ``asked``, else in the
    workspace the session remembers, else in its first one. 401 when the session has ended."""
    pool, settings = connection.app.state.pool, connection.app.state.settings
    session = await sessions.resume(pool, cookie, settings.session_idle_s)
    if session is None:
        raise unauthorized("the console session has ended; sign in again", "invalid_token")
    # The workspace the session remembers (the console's switcher) stands in for a header the
    # browser could not send (EventSource, images, links); one it may no longer use is dropped.
    remembered = None if asked is not None else session["workspace"]
    if session["user_id"] is not None:
        return await person(connection, session["user_id"], asked, cookie, remembered)
    if session["key_id"] is not None:
        found = await key_principal(
            connection, await api_keys.by_id(pool, session["key_id"]), asked
        )
        return replace(found, session=cookie)
    current = connection.app.state.admin_token.current()
    if not current or session["admin_mark"] != admin_token.mark(current):
        raise unauthorized("the admin token was rotated; sign in again", "invalid_token")
    if remembered is not None and await workspaces.exists(pool, remembered):
        asked = remembered
    return replace(await installation(connection, asked), session=cookie)


async def installation(
    connection: ASGIConnection[Any, Any, Any, Any], asked: str | None
) -> Principal:
    workspace = asked or DEFAULT_WORKSPACE
    if workspace != DEFAULT_WORKSPACE and not await workspaces.exists(
        connection.app.state.pool, workspace
    ):
        raise not_found(f"workspace {workspace}")
    return Principal(workspace, Role.INSTALLATION, "admin")


async def credential(
    connection: ASGIConnection[Any, Any, Any, Any], given: str, asked: str | None
) -> Principal:
    """The installation's admin token or an API key, as a bearer or at sign-in."""
    if admin_token_valid(connection, given):
        return await installation(connection, asked)
    pool = connection.app.state.pool
    row = await api_keys.lookup(pool, given) if api_keys.looks_like_key(given) else None
    if row is None:
        raise await refuse(connection, "the bearer token is not valid")
    return await key_principal(connection, row, asked)


async def key_principal(
    connection: ASGIConnection[Any, Any, Any, Any], row: Any, asked: str | None
) -> Principal:
    if row is None or row["revoked_at"] is not None:
        raise unauthorized("the API key was revoked", "invalid_token")
    if row["expired"]:
        raise unauthorized("the API key has expired", "invalid_token")
    if asked is not None and asked != row["workspace"]:
        # A key acts in its own workspace only; another's existence is not revealed.
        raise not_found(f"workspace {asked}")
    return Principal(row["workspace"], Role.named(row["role"]), f"key:{row['name']}", row["id"])


async def person(
    connection: ASGIConnection[Any, Any, Any, Any],
    user_id: UUID,
    asked: str | None,
    cookie: str,
    remembered: str | None = None,
) -> Principal:
    pool = connection.app.state.pool
    user = await people.by_id(pool, user_id)
    membership = await people.role_in(pool, user_id, asked, remembered)
    if user is None:
        raise unauthorized("the console session has ended; sign in again", "invalid_token")
    if membership is None:
        if asked is not None:
            raise not_found(f"workspace {asked}")
        raise Problem(
            403,
            "Forbidden",
            "you belong to no workspace; ask an Admin to invite you",
            code="no_workspace",
        )
    return Principal(
        membership["workspace"],
        Role.named(membership["role"]),
        f"user:{user['email']}",
        user_id=user_id,
        session=cookie,
    )
