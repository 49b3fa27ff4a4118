"""The gateway's one table of errors to problem+json: an error another service answered with,
saying retrying can help (its database connection cut by a PostgreSQL restart, in the chaos
soak), is a 503 with ``Retry-After`` like a service that does not answer, not a 500."""

from __future__ import annotations

from litestar import post
from litestar.testing import create_test_client
from runwright_bus.rpc import RemoteError
from runwright_common.errors import RetryableError, ServiceUnavailable
from runwright_gateway.problems import HANDLERS


@post("/retryable")
async def retryable() -> None:
    # What runwright_bus.rpc.request raises for an ErrorReply(retryable=True).
    raise RetryableError("internal error: ConnectionDoesNotExistError")


@post("/unavailable")
async def unavailable() -> None:
    raise ServiceUnavailable("no service answers runwright.job.action")


@post("/remote")
async def remote() -> None:
    raise RemoteError("a bug the queue reported")


def test_a_retryable_answer_from_another_service_is_a_503_with_retry_after() -> None:
    with create_test_client([retryable], exception_handlers=HANDLERS) as client:
        answer = client.post("/retryable")
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["code"] == "unavailable"
    assert "ConnectionDoesNotExistError" not in answer.text, "internals stay in the logs"


def test_a_service_that_does_not_answer_still_names_what_did_not_answer() -> None:
    with create_test_client([unavailable], exception_handlers=HANDLERS) as client:
        answer = client.post("/unavailable")
    assert answer.status_code == 503
    assert "runwright.job.action" in answer.json()["detail"]


def test_an_error_retrying_cannot_fix_is_still_a_500() -> None:
    with create_test_client([remote], exception_handlers=HANDLERS) as client:
        answer = client.post("/remote")
    assert answer.status_code == 500
