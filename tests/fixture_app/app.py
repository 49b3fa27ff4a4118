"""The fixture app's routes: one small page per behaviour the runbook engine must handle.

Every page is served fresh (``Cache-Control: no-store``); nothing is loaded from outside the app.
"""

import asyncio
import html
import json
import secrets
from typing import Annotated, Any

from litestar import Litestar, Request, Response, get
from litestar.datastructures import State
from litestar.enums import MediaType
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_204_NO_CONTENT

from .content import (
    EVIL_BODY,
    EVIL_FILE_NAME,
    MAX_BIG_MIB,
    MIB,
    TOTAL_TEXT,
    big_chunks,
    blob_bytes,
    products_csv,
    products_json,
)
from .pages import PAGES_DIR, render

MAX_SLOW_MS = 30_000
"""The longest delay ``/slow?ms=`` accepts."""

_STATIC_PAGES = {
    "/": "index.html",
    "/forms": "forms.html",
    "/delayed": "delayed.html",
    "/long": "long.html",
    "/replaced": "replaced.html",
    "/mutating": "mutating.html",
    "/static": "static.html",
    "/downloads": "downloads.html",
    "/downloads/auto": "downloads_auto.html",
    "/console-error": "console_error.html",
}
"""Pages served exactly as their file reads."""


def _html(body: str) -> Response[str]:
    return Response(content=body, media_type=MediaType.HTML)


def _attachment(content: str | bytes, file_name: str, media_type: str) -> Response[str | bytes]:
    return Response(
        content=content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{file_name}"'},
    )


@get(list(_STATIC_PAGES))
async def static_page(request: Request[Any, Any, State]) -> Response[str]:
    return _html(render(_STATIC_PAGES[request.url.path]))


@get("/selectors")
async def selectors() -> Response[str]:
    """The "Customer name" input's id changes on every load, so only its label finds it."""
    return _html(render("selectors.html", customer_id=f"c{secrets.token_hex(6)}"))


@get("/table")
async def table() -> Response[str]:
    return _html(
        render("table.html", products_json=products_json(), total_json=json.dumps(TOTAL_TEXT))
    )


@get("/slow")
async def slow(ms: Annotated[int, Parameter(ge=0, le=MAX_SLOW_MS)] = 0) -> Response[str]:
    """Answers after ``ms`` milliseconds (0 to 30000; others are a 400)."""
    await asyncio.sleep(ms / 1000)
    return _html(render("slow.html", ms=str(ms)))


@get("/navigate-target")
async def navigate_target(request: Request[Any, Any, State]) -> Response[str]:
    """Echoes the raw query string (without ``?``) in ``#query``."""
    return _html(render("navigate_target.html", query=html.escape(request.url.query)))


@get("/fixture.js")
async def fixture_js() -> Response[str]:
    script = (PAGES_DIR / "fixture.js").read_text(encoding="utf-8")
    return Response(content=script, media_type="text/javascript")


@get("/files/report.csv")
async def report_csv() -> Response[str | bytes]:
    return _attachment(products_csv(), "report.csv", "text/csv")


@get("/files/auto-report.csv")
async def auto_report_csv() -> Response[str | bytes]:
    return _attachment(products_csv(), "auto-report.csv", "text/csv")


@get("/files/blob.bin")
async def blob_bin() -> Response[str | bytes]:
    return _attachment(blob_bytes(), "blob.bin", "application/octet-stream")


@get("/files/evil")
async def evil_file() -> Response[str | bytes]:
    """Suggests the file name ``../../etc/passwd``."""
    return _attachment(EVIL_BODY, EVIL_FILE_NAME, "text/plain")


@get("/files/big.bin")
async def big_bin(mb: Annotated[int, Parameter(ge=0, le=MAX_BIG_MIB)] = 1) -> Stream:
    """Streams ``mb`` MiB of ``content.big_bytes(mb)`` in 64 KiB chunks, with a Content-Length."""
    return Stream(
        big_chunks(mb),
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": 'attachment; filename="big.bin"',
            "Content-Length": str(mb * MIB),
        },
    )


@get("/healthz", media_type=MediaType.TEXT)
async def healthz() -> str:
    return "ok"


@get("/favicon.ico", status_code=HTTP_204_NO_CONTENT, include_in_schema=False)
async def favicon() -> None:
    """No icon, and no 404 in the browser console either."""


from .beats import beat, beating, last_beat  # noqa: E402 - keeps the page set in one place


def create_app() -> Litestar:
    """A fresh fixture app; it keeps no state between requests."""
    return Litestar(
        route_handlers=[
            static_page,
            selectors,
            table,
            slow,
            navigate_target,
            fixture_js,
            report_csv,
            auto_report_csv,
            blob_bin,
            evil_file,
            big_bin,
            healthz,
            favicon,
            beating,
            beat,
            last_beat,
        ],
        response_headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        openapi_config=None,
        logging_config=None,
    )
