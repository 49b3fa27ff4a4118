"""The web console: a small single-page app (vanilla HTML, CSS and JS modules) the gateway serves.

``/console/...`` serves the page, ``/console/static/...`` its assets, and ``/console/session``
signs in (a ``runwright_session`` cookie holding a random session id, kept server-side:
HttpOnly, SameSite=Strict, so no credential is ever in the browser's cookie jar or a URL and other
sites cannot send it) and out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import msgspec
from litestar import Request, Response, Router, delete, get, patch, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from runwright_runbook.parse import FieldError

from runwright_gateway import (
    admin_token,
    api_keys,
    audit,
    auth,
    passwords,
    people,
    sessions,
    sso,
    throttle,
)
from runwright_gateway.auth import SESSION_COOKIE, cross_site, session_token
from runwright_gateway.permissions import Role
from runwright_gateway.problems import Problem, invalid

STATIC_DIR = Path(__file__).parent / "static"


def fingerprint(directory: Path) -> str:
    """A short hash of every file under ``directory``: it changes whenever any asset does."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


ASSETS = f"/console/assets/{fingerprint(STATIC_DIR)}"
"""The page loads its assets from a path naming their version, so browsers keep them for a year
and still never run a stale one; ``/console/static`` serves the same files, revalidated."""
INDEX = (
    (STATIC_DIR / "index.html").read_bytes().replace(b'"/console/static/', f'"{ASSETS}/'.encode())
)


def page_headers(s3_endpoint: str = "") -> dict[str, str]:
    """The console page's headers. With an S3 store, downloads redirect to presigned URLs on the
    store's origin, so images, videos and previews may load from there too (and only there)."""
    store = ""
    if s3_endpoint:
        parsed = urlsplit(s3_endpoint if "://" in s3_endpoint else f"//{s3_endpoint}")
        schemes = [parsed.scheme] if parsed.scheme else ["http", "https"]
        store = "".join(f" {scheme}://{parsed.netloc}" for scheme in schemes)
    csp = (
        f"default-src 'self'; img-src 'self' data: blob:{store}; media-src 'self'{store}; "
        f"script-src 'self'; style-src 'self'; connect-src 'self'{store}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


class _SignIn(msgspec.Struct):
    email: str = ""
    password: str = ""
    token: str = ""


def _is_form(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


async def _body(request: Request[Any, Any, Any]) -> _SignIn:
    raw = await request.body()
    if _is_form(request):
        fields = parse_qs(raw.decode("utf-8", "replace"))
        return _SignIn(
            **{name: (fields.get(name) or [""])[0] for name in ("email", "password", "token")}
        )
    try:
        return msgspec.json.decode(raw or b"{}", type=_SignIn)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        detail = 'expected {"email": "…", "password": "…"} or {"token": "…"}'
        raise Problem(400, "Bad Request", detail, code="bad_request") from exc


@get("/", include_in_schema=False)
async def root() -> Redirect:
    return Redirect("/console/jobs", status_code=302)


@get("/console", include_in_schema=False)
async def console_root() -> Redirect:
    return Redirect("/console/jobs", status_code=302)


@get("/console/{path:path}", include_in_schema=False)
async def console_page(request: Request[Any, Any, Any], path: str) -> Response[bytes]:
    """Every console route is the same page; the app reads the URL and renders the view."""
    del path
    headers = page_headers(request.app.state.settings.s3_endpoint)
    return Response(INDEX, media_type="text/html", headers=headers)


@get("/console/session", include_in_schema=False)
async def session_state(request: Request[Any, Any, Any]) -> dict[str, bool]:
    given = session_token(request)
    settings = request.app.state.settings
    live = given is not None and (
        await sessions.resume(request.app.state.pool, given, settings.session_idle_s)
    )
    return {"signed_in": bool(live)}


async def _who(request: Request[Any, Any, Any], body: _SignIn) -> tuple[UUID | None, UUID | None]:
    """(user id, key id) of a valid sign-in (both None: the admin token); else 401 or 429."""
    pool, rules, source = request.app.state.pool, auth.limits(request), auth.source(request)
    email = body.email.strip()
    if email and body.token.strip():
        # Which credential was meant is not guessed: one is refused before either is tried.
        raise invalid(
            [FieldError("token", "send an e-mail address and password, or a token, not both")]
        )
    if email:
        audit.note(request, actor="anonymous", detail={"email": email[:254], "method": "password"})
        await throttle.check(pool, rules, email, source)
        user = await people.by_email(pool, email)
        if await passwords.matches(None if user is None else user["password_hash"], body.password):
            assert user is not None
            audit.note(request, actor=f"user:{user['email']}")
            return user["id"], None
        await throttle.failed(pool, rules, email, source)
        raise auth.unauthorized("the e-mail address or the password is not right")
    token = body.token.strip()
    await throttle.check(pool, rules, None, source)
    if token and auth.admin_token_valid(request, token):
        audit.note(request, actor="admin", detail={"method": "admin token"})
        return None, None
    row = await api_keys.lookup(pool, token) if api_keys.looks_like_key(token) else None
    if row is not None and row["revoked_at"] is None and not row["expired"]:
        audit.note(
            request,
            actor=f"key:{row['name']}",
            workspace=row["workspace"],
            detail={"method": "API key"},
        )
        return None, row["id"]
    audit.note(request, actor="anonymous", detail={"method": "token"})
    await throttle.failed(pool, rules, None, source)
    raise auth.unauthorized("the token is not valid")


@post("/console/session", status_code=200, include_in_schema=False)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    """Form (answered with a redirect) or JSON (answered 204): ``email`` and ``password``, or a
    ``token`` (an API key or the admin token). The cookie then holds a new session's id, never
    the credential. A post from another site is refused (403) before anything is looked at."""
    if why := cross_site(request):
        raise Problem(
            403, "Forbidden", f"sign-in from another site is refused: {why}", code="cross_site"
        )
    form, body = _is_form(request), await _body(request)
    try:
        user_id, key_id = await _who(request, body)
    except Problem as refused:
        if form and refused.status in (401, 429):
            why = "limited" if refused.status == 429 else "failed"
            audit.note(request, outcome="denied", detail={"refused": refused.status})
            return Redirect(f"/console/jobs?signin={why}", status_code=303)
        raise
    cookie = await sessions.begin(
        request,
        user_id=user_id,
        key_id=key_id,
        admin_mark=None
        if user_id or key_id
        else admin_token.mark(request.app.state.admin_token.current()),
    )
    if form:
        return Redirect("/console/jobs", status_code=303, cookies=[cookie])
    return Response(None, status_code=204, cookies=[cookie])


@delete("/console/session", status_code=204, include_in_schema=False)
async def sign_out(request: Request[Any, Any, Any]) -> Response[None]:
    """End this session (the cookie's id stops working everywhere, not only in this browser)."""
    given = session_token(request)
    if given is not None:
        await sessions.end(request.app.state.pool, given)
    gone = Cookie(
        key=SESSION_COOKIE, value="", path="/", httponly=True, samesite="strict", max_age=0
    )
    return Response(None, status_code=204, cookies=[gone])


class WorkspaceChoice(msgspec.Struct, forbid_unknown_fields=True):
    workspace: str


@patch("/console/session", status_code=200, include_in_schema=False)
async def switch_workspace(
    request: Request[Any, Any, Any], data: WorkspaceChoice
) -> dict[str, str]:
    """The header's switcher: this session acts in ``workspace`` from now on, for every request
    that names none (so the event streams, images and links the browser fetches by itself act
    where the page does). 404 for a workspace the caller may not use, as everywhere."""
    if why := cross_site(request):
        raise Problem(
            403, "Forbidden", f"a change from another site is refused: {why}", code="cross_site"
        )
    given = session_token(request)
    if given is None:
        raise auth.unauthorized("no console session; sign in first")
    slug = data.workspace.strip()
    if not slug or len(slug) > 64 or "\x00" in slug:
        raise invalid([FieldError("workspace", "must name a workspace (1 to 64 characters)")])
    found = await auth.from_session(request, given, slug)
    audit.note(request, actor=found.actor, workspace=found.workspace, target=found.workspace)
    await sessions.choose_workspace(request.app.state.pool, given, found.workspace)
    role = "owner" if found.role is Role.INSTALLATION else found.role.label
    return {"workspace": found.workspace, "role": role}


console_router = Router(
    path="/",
    route_handlers=[
        root,
        console_root,
        session_state,
        sign_in,
        sign_out,
        switch_workspace,
        *sso.ROUTES,
        create_static_files_router(
            path=ASSETS,
            directories=[STATIC_DIR],
            include_in_schema=False,
            cache_control=CacheControlHeader(max_age=365 * 24 * 3600, immutable=True),
            name="console-assets",
        ),
        create_static_files_router(
            path="/console/static",
            directories=[STATIC_DIR],
            include_in_schema=False,
            cache_control=CacheControlHeader(no_cache=True),
        ),
        console_page,
    ],
)
