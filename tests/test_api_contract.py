"""Schemathesis over the whole HTTP API, against the real stack: no answer is a server error, and
every answer's status, content type and body are the ones the OpenAPI document gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from runwright_cli.stack import Stack
from schemathesis import APIOperation, Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.e2e

EXAMPLES = 8
"""Per operation: enough to reach each documented answer, and a few minutes at most on 2 cores."""
ENDLESS = r"^/api/v1/events$"
"""The workspace stream never ends on its own, so its body cannot be read to an end."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def operations(stack: Stack) -> Iterator[APIOperation]:
    schema = schemathesis.openapi.from_url(f"{stack.gateway_url}/api/openapi.json")
    for result in schema.exclude(path_regex=ENDLESS).get_all_operations():
        yield result.ok()


def exercise(operation: APIOperation, token: str) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    return run


@pytest.fixture
def leaves_no_subscriptions(api: httpx.Client) -> Iterator[None]:
    """Generated webhooks and schedules would go on working in the shared stack: remove them."""
    hooks = {h["id"] for h in api.get("/api/v1/webhooks").json()["items"]}
    schedules = {s["id"] for s in api.get("/api/v1/schedules?limit=200").json()["items"]}
    yield
    for hook in api.get("/api/v1/webhooks").json()["items"]:
        if hook["id"] not in hooks:
            api.delete(f"/api/v1/webhooks/{hook['id']}")
    for schedule in api.get("/api/v1/schedules?limit=200").json()["items"]:
        if schedule["id"] not in schedules:
            api.delete(f"/api/v1/schedules/{schedule['id']}")


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("leaves_no_subscriptions")
def test_every_operation_answers_as_its_openapi_document_says(stack: Stack) -> None:
    failures: dict[str, str] = {}
    tested = 0
    for operation in operations(stack):
        tested += 1
        try:
            exercise(operation, stack.token)()
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
            failures[operation.label] = str(exc)[:2000]
    assert tested >= 20, f"only {tested} operations in the document"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
