"""Schemathesis over the whole HTTP API, against the real stack: no answer is a server error, and
every answer's status, content type and body are the ones the OpenAPI document gives."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from runwright_proto.jobs import JOB_STATUSES, TERMINAL
from runwright_stack.stack import Stack
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.runbooks import example
from support.sse import read_events

pytestmark = pytest.mark.e2e

LOGIN = {"email": "ops@example.com", "password": "demo"}
EXAMPLES = 8
"""Per operation and mode: enough to reach each documented answer; the module takes under a
minute here (2 cores)."""
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


def exercise(operation: APIOperation, token: str, mode: GenerationMode) -> Callable[[], None]:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    return run


UNFINISHED = tuple(s for s in JOB_STATUSES if s not in TERMINAL)


def unfinished_jobs(api: httpx.Client) -> set[str]:
    found: set[str] = set()
    for status in UNFINISHED:
        page = api.get("/api/v1/jobs", params={"status": status, "limit": 200}).json()
        found |= {job["id"] for job in page["items"]}
    return found


def cancel_generated_jobs(api: httpx.Client, before: set[str]) -> None:
    """Generated jobs (long waits, approvals nobody gives) would hold the shared stack's
    executors for minutes: cancel every one still unfinished."""
    for _ in range(50):
        left = unfinished_jobs(api) - before
        if not left:
            return
        for job_id in left:
            api.post(f"/api/v1/jobs/{job_id}/cancel")


@pytest.fixture
def leaves_no_subscriptions(api: httpx.Client) -> Iterator[None]:
    """Generated webhooks, schedules and jobs would go on working in the shared stack: remove
    them."""
    hooks = {h["id"] for h in api.get("/api/v1/webhooks").json()["items"]}
    schedules = {s["id"] for s in api.get("/api/v1/schedules?limit=200").json()["items"]}
    jobs = unfinished_jobs(api)
    yield
    for hook in api.get("/api/v1/webhooks").json()["items"]:
        if hook["id"] not in hooks:
            api.delete(f"/api/v1/webhooks/{hook['id']}")
    for schedule in api.get("/api/v1/schedules?limit=200").json()["items"]:
        if schedule["id"] not in schedules:
            api.delete(f"/api/v1/schedules/{schedule['id']}")
    cancel_generated_jobs(api, jobs)


@pytest.mark.timeout(600)
@pytest.mark.usefixtures("leaves_no_subscriptions")
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_answers_as_its_openapi_document_says(
    stack: Stack, mode: GenerationMode
) -> None:
    """Valid requests (positive) and invalid ones (negative: bad types, missing fields, bad
    ids): never a server error, never an answer the document does not list."""
    failures: dict[str, str] = {}
    tested = 0
    for operation in operations(stack):
        tested += 1
        try:
            exercise(operation, stack.token, mode)()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE, operation.label  # it takes no input at all
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
            failures[operation.label] = str(exc)[:2000]
    assert tested >= 20, f"only {tested} operations in the document"
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())


def test_real_jobs_and_their_reports_conform_too(
    stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    """Generated ids find nothing; a finished job shows whether real views match the document."""
    body = {"runbook": example("login.yaml", demo_url), "variables": LOGIN, "screenshots": True}
    for _ in range(2):  # the second run has a previous run to be compared with
        submitted = api.post("/api/v1/jobs", json=body)
        assert submitted.status_code == 201, submitted.text
        job_id = submitted.json()["id"]
        read_events(api, f"/api/v1/jobs/{job_id}/events")
    checked = []
    for operation in operations(stack):
        params = {p.name for p in operation.path_parameters}
        if operation.method.upper() != "GET" or not params <= {"job_id"}:
            continue
        case = operation.Case(path_parameters={"job_id": job_id} if params else {})
        response = case.call_and_validate(
            headers={"Authorization": f"Bearer {stack.token}"}, checks=CHECKS
        )
        assert response.status_code in (200, 204), (operation.label, response.status_code)
        checked.append(operation.path)
    assert "/api/v1/jobs/{job_id}/report" in checked
    assert "/api/v1/jobs/{job_id}/artifacts" in checked
