"""The API's OpenAPI 3.1 document (``/api/openapi.json``) and its interactive docs (``/api/docs``).

The docs page is Swagger UI, served from the gateway itself (``docs_ui/swagger-ui``, from the
``swagger-ui-dist`` npm package, Apache-2.0): it works offline and under a self-only
Content-Security-Policy. ``/api/schema`` (the old address) redirects to the docs.
"""

from __future__ import annotations

from pathlib import Path

from litestar import Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, Reference, SecurityRequirement, SecurityScheme
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

DOCS_DIR = Path(__file__).parent / "docs_ui"
PAGE = (DOCS_DIR / "index.html").read_bytes()
CSP = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
"""Inline styles only: Swagger UI sets some on its elements; every script is the gateway's."""

SECURITY: list[SecurityRequirement] = [{"bearer": []}, {"session": []}]
"""What every ``/api/v1`` route accepts: the admin token, or the console's session cookie."""

SCHEMES: dict[str, SecurityScheme | Reference] = {
    "bearer": SecurityScheme(
        type="http",
        scheme="bearer",
        description=(
            "An API key (`rw_…`, acting in its own workspace with its role) or the installation's "
            "admin token (`RUNWRIGHT_ADMIN_TOKEN`, acting in `default` or in `X-Workspace`): "
            "`Authorization: Bearer <token>`"
        ),
    ),
    "session": SecurityScheme(
        type="apiKey",
        name="runwright_session",
        security_scheme_in="cookie",
        description="The console's session cookie (set by signing in to the console)",
    ),
}


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Runwright API",
        version="1",
        description="Submit, follow and steer browser-automation jobs. Errors are "
        "`application/problem+json` (RFC 9457); `errors` names each bad field.",
        path="/api",
        render_plugins=[JsonRenderPlugin(path="/openapi.json")],
        components=Components(security_schemes=SCHEMES),
        use_handler_docstrings=True,
    )


@get("/api/docs", include_in_schema=False)
async def docs_page() -> Response[bytes]:
    headers = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}
    return Response(PAGE, media_type="text/html", headers=headers)


@get(["/api/schema", "/api/schema/{rest:path}"], include_in_schema=False)
async def old_schema_path(rest: str = "/") -> Redirect:
    target = "/api/openapi.json" if rest.endswith(".json") else "/api/docs"
    return Redirect(target, status_code=302)


docs_router = Router(
    path="/",
    route_handlers=[
        docs_page,
        old_schema_path,
        create_static_files_router(
            path="/api/docs/assets",
            directories=[DOCS_DIR],
            include_in_schema=False,
            cache_control=CacheControlHeader(max_age=24 * 3600),
        ),
    ],
)
