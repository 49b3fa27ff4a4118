"""What a call can raise: the gateway's refusal (with its problem+json), or no gateway at all."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime

import httpx
import msgspec
from runwright_proto.api.problems import ProblemDetails

_problem = msgspec.json.Decoder(ProblemDetails)


class ClientError(Exception):
    """Anything this client raises."""


class GatewayUnreachable(ClientError):
    """No answer from the gateway (refused, reset, timed out); retrying later may help."""


class ApiError(ClientError):
    """The gateway answered with an error: its problem details, and when to retry a 429/503."""

    def __init__(self, problem: ProblemDetails, retry_after_s: float | None = None) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem
        self.retry_after_s = retry_after_s

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def job_status(self) -> str | None:
        """On a 409 for a job action: the status that refused it."""
        return self.problem.job_status


def retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def api_error(response: httpx.Response) -> ApiError:
    """The error for a non-2xx answer; a body that is not problem+json still gives one."""
    try:
        problem = _problem.decode(response.content)
    except (msgspec.ValidationError, msgspec.DecodeError):
        problem = ProblemDetails(
            title=response.reason_phrase or "Error",
            status=response.status_code,
            detail=response.text[:300] or f"HTTP {response.status_code}",
            code="http_error",
        )
    return ApiError(problem, retry_after(response.headers.get("retry-after")))
