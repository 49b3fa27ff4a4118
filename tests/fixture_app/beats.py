"""A page that beats: it calls ``/beat?key=`` every 20 ms while it is alive, so a benchmark can see
from outside when a browser page stopped (its context was closed)."""

from __future__ import annotations

import time
from typing import Annotated

from litestar import get
from litestar.enums import MediaType
from litestar.params import Parameter
from litestar.response import Response

_LAST: dict[str, float] = {}

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Fixture: beating</title></head><body><h1>Beating</h1><script>
const key = new URLSearchParams(location.search).get("key") || "none";
setInterval(() => fetch("/beat?key=" + encodeURIComponent(key), {cache: "no-store"}), 20);
</script></body></html>"""


@get("/beating", media_type=MediaType.HTML)
async def beating() -> str:
    return PAGE


@get("/beat", media_type=MediaType.TEXT)
async def beat(key: Annotated[str, Parameter(min_length=1)]) -> str:
    _LAST[key] = time.time()
    return "ok"


@get("/last-beat")
async def last_beat(
    key: Annotated[str, Parameter(min_length=1)],
) -> Response[dict[str, float | None]]:
    return Response({"last": _LAST.get(key)})
