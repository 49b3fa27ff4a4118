"""Errors as RFC 9457 problem+json, mapped in one table."""

from __future__ import annotations

import re
import traceback
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from nats import errors as nats_errors
from nats.js import errors as js_errors
from runwright_common.errors import RetryableError, ServiceUnavailable
from runwright_common.logging import get_logger
from runwright_proto import limits
from runwright_proto.api.problems import PROBLEM_MEDIA_TYPE, FieldError

log = get_logger("runwright.gateway")
MEDIA_TYPE = PROBLEM_MEDIA_TYPE


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


def too_large(errors: list[FieldError]) -> Problem:
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return Problem(413, "Too large", detail, code="too_large", errors=errors)


def conflict(field: str, detail: str, message: str | None = None) -> Problem:
    """409 naming ``field``: ``<field>: <detail>``, the field's error ``message`` (or the
    detail)."""
    return Problem(
        409,
        "Conflict",
        f"{field}: {detail}",
        code="conflict",
        errors=[FieldError(field, message or detail)],
    )


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


_NAMED = re.compile(r"(?:missing required field|unknown field) `(?P<name>[^`]+)`")


def field_errors(exc: ValidationException) -> list[tuple[str, FieldError]]:
    """Litestar's validation errors as (source, error naming the field) pairs."""
    found: list[tuple[str, FieldError]] = []
    for entry in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(entry, dict):
            continue
        source, message = str(entry.get("source", "")), str(entry.get("message", ""))
        key = str(entry.get("key", ""))
        if source == "body":
            key = key.removeprefix("data").lstrip(".")
            if named := _NAMED.search(message):
                key = f"{key}.{named['name']}" if key else named["name"]
            if message == "'data'":
                message = "the request body is empty; send a JSON object"
        found.append((source, FieldError(key or "body", message)))
    return found


def on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """A bad id in the path is a 404 (nothing is there); any other bad field a 422 naming it."""
    errors = field_errors(exc)
    path_params: dict[str, Any] = request.scope.get("path_params") or {}
    in_path = [e for source, e in errors if source == "path" or e.field in path_params]
    if in_path:
        value = path_params.get(in_path[0].field, "")
        what = in_path[0].field.removesuffix("_id")
        detail = f"{what} {value!r} does not exist ({in_path[0].message})"
        return render(request, Problem(404, "Not found", detail, code="not_found", errors=in_path))
    return render(request, invalid([e for _, e in errors] or [FieldError("request", exc.detail)]))


def on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ValidationException):
        return on_validation(request, exc)
    if isinstance(exc, NotFoundException):
        detail = f"nothing is at {request.url.path}" if exc.detail == "Not Found" else exc.detail
        return render(request, Problem(404, "Not found", detail, code="not_found"))
    if exc.status_code == 400 and exc.detail.startswith("JSON is malformed"):
        detail = (
            f"the request body is not valid JSON: {exc.detail.removeprefix('JSON is malformed: ')}"
        )
        return render(request, Problem(400, "Malformed JSON", detail, code="malformed_json"))
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


RETRY_AFTER_S = "2"
DATABASE_DOWN: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)
BUS_DOWN: tuple[type[Exception], ...] = (
    nats_errors.ConnectionClosedError,
    nats_errors.ConnectionReconnectingError,
    nats_errors.NoRespondersError,
    nats_errors.OutboundBufferLimitError,
    nats_errors.StaleConnectionError,
    js_errors.ServiceUnavailableError,
)
NETWORK_DOWN: tuple[type[Exception], ...] = (ConnectionError, TimeoutError)
"""A connection refused, reset or timed out: PostgreSQL, NATS or the store is not answering."""


def unavailable(detail: str) -> Problem:
    return Problem(
        503,
        "Service unavailable",
        detail,
        code="unavailable",
        headers={"Retry-After": RETRY_AFTER_S},
    )


def on_unavailable(request: Request[Any, Any, Any], exc: ServiceUnavailable) -> Response[bytes]:
    log.warning("a service did not answer", error=str(exc))
    return render(request, unavailable(str(exc)))


def on_retryable(request: Request[Any, Any, Any], exc: RetryableError) -> Response[bytes]:
    """A service answered that retrying can help (its database connection was cut by a restart,
    say): a 503 with ``Retry-After``, as for a dependency that is down, not a 500."""
    log.warning("a service answered: try again", error=str(exc))
    return render(request, unavailable("the request could not be done just now; retry shortly"))


_CLIENT_PACKAGES = (("asyncpg", "PostgreSQL"), ("nats", "NATS"), ("minio", "the object store"))


def dependency_of(exc: BaseException) -> str:
    """Which dependency an error came from: its type, else the client library it was raised in
    (a refused connection is an OSError whichever client made it)."""
    if isinstance(exc, DATABASE_DOWN):
        return "PostgreSQL"
    if isinstance(exc, BUS_DOWN):
        return "NATS"
    frames = traceback.extract_tb(exc.__traceback__)
    for frame in reversed(frames):
        for package, name in _CLIENT_PACKAGES:
            if f"/{package}/" in frame.filename:
                return name
    return "a dependency"


def on_dependency_down(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """A dependency that is down (PostgreSQL restarting, NATS reconnecting) is a 503 with
    ``Retry-After``: the request did nothing and may be sent again."""
    what = dependency_of(exc)
    log.warning("dependency down", dependency=what, error=str(exc) or type(exc).__name__)
    return render(request, unavailable(f"{what} is not reachable just now; retry shortly"))


def on_too_large(request: Request[Any, Any, Any], _: RequestEntityTooLarge) -> Response[bytes]:
    message = f"the request body is over {limits.kib(limits.MAX_BODY_BYTES)}"
    return render(request, too_large([FieldError("body", message)]))


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
    RetryableError: on_retryable,
    RequestEntityTooLarge: on_too_large,
    **dict.fromkeys(DATABASE_DOWN + BUS_DOWN + NETWORK_DOWN, on_dependency_down),
    500: on_crash,
}
