"""Errors as RFC 9457 problem+json, mapped in one table."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from runwright_common.errors import ServiceUnavailable
from runwright_common.logging import get_logger
from runwright_runbook.parse import FieldError, field_error_from_msgspec

log = get_logger("runwright.gateway")
MEDIA_TYPE = "application/problem+json"

T = TypeVar("T")


class Problem(Exception):
    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        code: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.code = status, title, detail, code
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra


def invalid(errors: list[FieldError]) -> Problem:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Problem(422, "Invalid request", detail, code="validation_failed", errors=errors)


def decode_json(body: bytes, decoder: msgspec.json.Decoder[T], empty: FieldError) -> T:
    """A JSON request body as ``T``: 422 naming the field, 400 when it is not JSON at all."""
    if not body.strip():
        raise invalid([empty])
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise invalid([field_error_from_msgspec(exc)]) from exc
    except msgspec.DecodeError as exc:
        raise Problem(
            400,
            "Malformed JSON",
            f"the request body is not valid JSON: {exc}",
            code="malformed_json",
        ) from exc


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"{what} does not exist", code="not_found")


def render(request: Request[Any, Any, Any], problem: Problem) -> Response[bytes]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
        "instance": request.url.path,
    }
    if problem.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in problem.errors]
    body.update(problem.extra)
    return Response(
        msgspec.json.encode(body),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=problem.headers,
    )


def on_problem(request: Request[Any, Any, Any], exc: Problem) -> Response[bytes]:
    return render(request, exc)


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ValidationException):
        errors = [
            FieldError(str(e.get("key", "request")), str(e.get("message", "")))
            for e in (exc.extra or [])
            if isinstance(e, dict)
        ]
        return render(request, invalid(errors or [FieldError("request", exc.detail)]))
    if isinstance(exc, NotFoundException):
        return render(request, Problem(404, "Not found", exc.detail, code="not_found"))
    return render(
        request,
        Problem(
            exc.status_code,
            exc.detail or "Error",
            exc.detail,
            code="http_error",
            headers=exc.headers,
        ),
    )


def on_unavailable(request: Request[Any, Any, Any], exc: ServiceUnavailable) -> Response[bytes]:
    log.warning("a service did not answer", error=str(exc))
    return render(
        request,
        Problem(
            503, "Service unavailable", str(exc), code="unavailable", headers={"Retry-After": "2"}
        ),
    )


def on_crash(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("request failed", path=request.url.path)
    return render(
        request,
        Problem(500, "Internal error", "the request failed; it was logged", code="internal"),
    )


HANDLERS: dict[Any, Any] = {
    Problem: on_problem,
    HTTPException: on_http_exception,
    ServiceUnavailable: on_unavailable,
    500: on_crash,
}
