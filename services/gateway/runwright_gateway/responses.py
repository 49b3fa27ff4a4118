"""What the OpenAPI document says each handler may answer besides its success: problem+json
errors by status, event streams, redirects and empty answers."""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from runwright_proto.api.problems import PROBLEM_MEDIA_TYPE, ProblemDetails
from runwright_proto.api.streams import StreamEvent

WHY = {
    400: "The request body is not JSON",
    401: "The bearer token (or the console's session) is missing or not valid",
    403: "A change sent from another site with the console's session",
    404: "Nothing is there (an unknown or malformed id)",
    409: "The current state forbids it, or the version changed (If-Match)",
    413: "The body, the query string or a field is over a limit; `errors` names it (see "
    "docs/limits.md)",
    416: "The byte range is outside the file",
    422: "A field is invalid; `errors` names each one",
    429: "Too many waiting jobs; retry after `Retry-After` seconds",
    503: "A service or a dependency (PostgreSQL, NATS) is not reachable just now; retry after "
    "`Retry-After` seconds",
}
ALWAYS = (400, 401, 403, 413, 422, 503)
"""Every API route reads JSON, checks the token, refuses cross-site changes, bounds what it is
sent, validates and may time out."""


def problems(*codes: int) -> dict[int, ResponseSpec]:
    """The problem+json answers a handler may give: ``codes`` plus those every route may."""
    return {
        code: ResponseSpec(
            data_container=ProblemDetails,
            description=WHY[code],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for code in sorted({*codes, *ALWAYS})
    }


def event_stream(description: str) -> dict[int, ResponseSpec]:
    """A Server-Sent Events answer (``text/event-stream``): the schema is that of each event."""
    return {
        200: ResponseSpec(
            data_container=StreamEvent,
            description=description,
            media_type="text/event-stream",
            generate_examples=False,
        )
    }


def empty(code: int, description: str) -> dict[int, ResponseSpec]:
    return {code: ResponseSpec(data_container=None, description=description)}


def answers(*parts: dict[int, ResponseSpec]) -> dict[int, ResponseSpec]:
    merged: dict[int, ResponseSpec] = {}
    for part in parts:
        merged.update(part)
    return merged


def typed(data: Any, description: str, media_type: str = "application/json") -> ResponseSpec:
    return ResponseSpec(
        data_container=data, description=description, media_type=media_type, generate_examples=False
    )
