"""The web console: a small single-page app (vanilla HTML, CSS and JS modules) the gateway serves.

``/console/...`` serves the page, ``/console/static/...`` its assets, and ``/console/session``
signs in (a ``runwright_session`` cookie holding the admin token: HttpOnly, SameSite=Strict, so
the token never appears in a URL and other sites cannot send it) and out.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from runwright_gateway.auth import SESSION_COOKIE, cross_site, session_token
from runwright_gateway.problems import Problem

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


class _TokenBody(msgspec.Struct):
    token: str = ""


def _expected(request: Request[Any, Any, Any]) -> str:
    token: str = request.app.state.settings.admin_token
    return token


def _valid(request: Request[Any, Any, Any], given: str) -> bool:
    expected = _expected(request)
    return bool(expected) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _is_form(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


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
    return {"signed_in": given is not None and _valid(request, given)}


@post("/console/session", status_code=200, include_in_schema=False)
async def sign_in(request: Request[Any, Any, Any]) -> Response[Any]:
    """Form (``token=…``, answered with a redirect) or JSON ``{"token": …}`` (answered 204).
    A post from another site is refused (403) before the token is looked at."""
    if why := cross_site(request):
        raise Problem(
            403, "Forbidden", f"sign-in from another site is refused: {why}", code="cross_site"
        )
    raw = await request.body()
    form = _is_form(request)
    if form:
        token = (parse_qs(raw.decode("utf-8", "replace")).get("token") or [""])[0]
    else:
        try:
            token = msgspec.json.decode(raw or b"{}", type=_TokenBody).token
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            detail = 'expected {"token": "…"}'
            raise Problem(400, "Bad Request", detail, code="bad_request") from exc
    token = token.strip()
    if not _valid(request, token):
        if form:
            return Redirect("/console/jobs?signin=failed", status_code=303)
        raise Problem(401, "Unauthorized", "the token is not valid", code="unauthorized")
    cookie = Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    if form:
        return Redirect("/console/jobs", status_code=303, cookies=[cookie])
    return Response(None, status_code=204, cookies=[cookie])


@delete("/console/session", status_code=204, include_in_schema=False)
async def sign_out() -> Response[None]:
    gone = Cookie(
        key=SESSION_COOKIE, value="", path="/", httponly=True, samesite="strict", max_age=0
    )
    return Response(None, status_code=204, cookies=[gone])


console_router = Router(
    path="/",
    route_handlers=[
        root,
        console_root,
        session_state,
        sign_in,
        sign_out,
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
