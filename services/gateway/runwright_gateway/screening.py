"""What every request is checked for before a handler sees it: a query string and a body that
can be stored and decoded at all (valid UTF-8, no NUL, no lone surrogate, not nested or sized
past the limits in :mod:`runwright_proto.limits`). A refusal names the field and the limit."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request
from runwright_proto import limits
from runwright_runbook.errors import FieldError
from runwright_runbook.limits import document_errors

from runwright_gateway.problems import Problem, invalid, too_large

WRITES = frozenset({"POST", "PUT", "PATCH"})


def _query(request: Request[Any, Any, Any]) -> None:
    raw = request.scope.get("query_string", b"")
    if len(raw) > limits.MAX_QUERY_BYTES:
        message = f"the query string is {len(raw)} bytes; {limits.MAX_QUERY_BYTES} at most"
        raise too_large([FieldError("query", message)])
    errors = [
        FieldError(name, why)
        for name, value in request.query_params.multi_items()
        if isinstance(value, str) and (why := limits.unstorable(value))
    ]
    if errors:
        raise invalid(errors)


def _decoded(body: bytes) -> Any:
    """The body as JSON values; a body msgspec refuses is tried once more with the standard
    library, which accepts lone surrogate escapes, so they can be named by field below."""
    try:
        return msgspec.json.decode(body)
    except RecursionError as exc:
        message = f"nests deeper than {limits.MAX_BODY_DEPTH} levels"
        raise invalid([FieldError("body", message)]) from exc
    except msgspec.DecodeError as exc:
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            detail = f"the request body is not valid JSON: {exc}"
            raise Problem(400, "Malformed JSON", detail, code="malformed_json") from exc


async def screen(request: Request[Any, Any, Any]) -> None:
    _query(request)
    if request.method not in WRITES:
        return
    body = await request.body()
    if not body:
        return
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        detail = f"the request body is not valid UTF-8 (byte {exc.start})"
        raise Problem(400, "Malformed body", detail, code="malformed_body") from exc
    if "json" not in request.headers.get("content-type", "application/json"):
        if b"\x00" in body:
            raise invalid([FieldError("body", "contains a NUL character, which cannot be stored")])
        return
    found = list(
        document_errors(
            _decoded(body), max_depth=limits.MAX_BODY_DEPTH, max_nodes=limits.MAX_BODY_NODES
        )
    )
    if found:
        raise invalid([FieldError(e.field or "body", e.message) for e in found])
