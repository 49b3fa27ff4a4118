"""The Acme Back Office demo application: a login form, an orders dashboard and a CSV export.

Plain server-rendered HTML and a little vanilla JavaScript (``static/dashboard.js``); nothing is
loaded from outside the app. Credentials: any non-empty email with the password ``demo``.
"""

import html
import secrets
from functools import cache
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.enums import MediaType
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_204_NO_CONTENT,
    HTTP_303_SEE_OTHER,
    HTTP_401_UNAUTHORIZED,
)

from runwright_demo.orders import ORDERS, STATUS_LABELS, orders_csv

DEMO_PASSWORD = "demo"  # noqa: S105 (the demo's published password, not a secret)
"""The one password the demo accepts, with any non-empty email."""

SESSION_COOKIE = "acme_session"
LOGIN_ERROR = "Invalid email or password"

_PACKAGE = resources.files("runwright_demo")
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class SessionStore:
    """Signed-in sessions of one app instance: an opaque token in a cookie maps to an email."""

    def __init__(self) -> None:
        self._emails: dict[str, str] = {}

    def open(self, email: str) -> str:
        token = secrets.token_urlsafe(24)
        self._emails[token] = email
        return token

    def email_for(self, token: str | None) -> str | None:
        return self._emails.get(token) if token else None

    def close(self, token: str | None) -> None:
        if token:
            self._emails.pop(token, None)


@cache
def _template(name: str) -> Template:
    return Template((_PACKAGE / "templates" / name).read_text(encoding="utf-8"))


def _sessions(request: Request[Any, Any, State]) -> SessionStore:
    store: SessionStore = request.app.state.sessions
    return store


def _signed_in_email(request: Request[Any, Any, State]) -> str | None:
    return _sessions(request).email_for(request.cookies.get(SESSION_COOKIE))


def _html(body: str) -> Response[str]:
    return Response(content=body, media_type=MediaType.HTML)


def _login_page(email: str = "", error: str | None = None) -> Response[str]:
    error_block = (
        f'<p id="login-error" class="error" role="alert">{html.escape(error)}</p>' if error else ""
    )
    body = _template("login.html").substitute(
        email=html.escape(email, quote=True), error_block=error_block
    )
    return _html(body)


def _status_options() -> str:
    options = [("all", "All statuses"), *STATUS_LABELS.items()]
    return "\n".join(
        f'        <option value="{html.escape(value)}">{html.escape(text)}</option>'
        for value, text in options
    )


@get("/", include_in_schema=False)
async def index() -> Redirect:
    return Redirect(path="/login")


@get("/login")
async def login_form() -> Response[str]:
    return _login_page()


@post("/login", status_code=HTTP_200_OK)
async def login(request: Request[Any, Any, State]) -> Response[Any]:
    form = await request.form()
    email = form.get("email")
    password = form.get("password")
    email = email.strip() if isinstance(email, str) else ""
    if not email or password != DEMO_PASSWORD:
        return _login_page(email=email, error=LOGIN_ERROR)
    token = _sessions(request).open(email)
    cookie = Cookie(key=SESSION_COOKIE, value=token, path="/", httponly=True, samesite="lax")
    return Redirect(path="/dashboard", status_code=HTTP_303_SEE_OTHER, cookies=[cookie])


@post("/logout")
async def logout(request: Request[Any, Any, State]) -> Redirect:
    _sessions(request).close(request.cookies.get(SESSION_COOKIE))
    response = Redirect(path="/login", status_code=HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@get("/dashboard")
async def dashboard(request: Request[Any, Any, State]) -> Response[str]:
    email = _signed_in_email(request)
    if email is None:
        return Redirect(path="/login")
    body = _template("dashboard.html").substitute(
        email=html.escape(email), status_options=_status_options()
    )
    return _html(body)


@get("/api/orders")
async def api_orders(request: Request[Any, Any, State]) -> Response[Any]:
    if _signed_in_email(request) is None:
        return Response(content={"error": "not signed in"}, status_code=HTTP_401_UNAUTHORIZED)
    return Response(content=[order.as_json() for order in ORDERS])


@get("/export.csv")
async def export_csv(request: Request[Any, Any, State]) -> Response[str]:
    if _signed_in_email(request) is None:
        return Redirect(path="/login")
    return Response(
        content=orders_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


@get("/favicon.ico", status_code=HTTP_204_NO_CONTENT, include_in_schema=False)
async def favicon() -> None:
    """No icon, but no 404 in the browser console either."""


@get("/healthz", media_type=MediaType.TEXT)
async def healthz() -> str:
    return "ok"


def create_app() -> Litestar:
    """A fresh Acme Back Office app with its own (empty) set of signed-in sessions."""
    static_dir = Path(str(_PACKAGE / "static"))
    return Litestar(
        route_handlers=[
            index,
            login_form,
            login,
            logout,
            dashboard,
            api_orders,
            export_csv,
            favicon,
            healthz,
            create_static_files_router(path="/static", directories=[static_dir]),
        ],
        state=State({"sessions": SessionStore()}),
        response_headers=_SECURITY_HEADERS,
        openapi_config=None,
        logging_config=None,
    )
