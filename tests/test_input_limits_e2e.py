"""Bad input is a 4xx naming the field and the limit, never a 500, and nothing reaches the bus:
NUL and lone surrogates anywhere, runbooks over the step count or nesting depth, values over their
size, bodies over 1 MiB, and the validator saying what submission says."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook

pytestmark = pytest.mark.e2e


def rb(steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    wait = {"action": {"type": "wait", "duration": 1}}
    return runbook(steps or [dict(wait)], start_url="http://127.0.0.1:9/")


def waits(count: int, description: str = "d") -> list[dict[str, Any]]:
    return [
        {"description": description, "action": {"type": "wait", "duration": 1}}
        for _ in range(count)
    ]


CASES: list[tuple[str, Any, int, str, str]] = [
    ("nul title", {"runbook": rb(), "title": "a\x00b"}, 422, "title", "NUL"),
    ("nul label", {"runbook": rb(), "labels": {"k": "a\x00"}}, 422, "labels.k", "NUL"),
    ("nul variable", {"runbook": rb(), "variables": {"v": "\x00"}}, 422, "variables.v", "NUL"),
    ("nul secret", {"runbook": rb(), "secrets": {"s": "a\x00"}}, 422, "secrets.s", "NUL"),
    ("surrogate title", {"runbook": rb(), "title": "a\ud800"}, 422, "title", "surrogate"),
    (
        "nul in a step",
        {"runbook": rb([{"description": "a\x00", "action": {"type": "wait", "duration": 1}}])},
        422,
        "runbook.steps[0].description",
        "NUL",
    ),
    ("10,000 steps", {"runbook": rb(waits(10000))}, 422, "runbook.steps", "at most 1000"),
    (
        "5 MB variable",
        {"runbook": rb(), "variables": {"v": "x" * 5_000_000}},
        413,
        "body",
        "1024 KiB",
    ),
    (
        "70 kB variable",
        {"runbook": rb(), "variables": {"v": "x" * 70000}},
        413,
        "variables.v",
        "64 KiB",
    ),
    (
        "60 labels",
        {"runbook": rb(), "labels": {f"k{i}": "v" for i in range(60)}},
        422,
        "labels",
        "50",
    ),
    ("deep YAML", {"runbook": "[" * 10000 + "]" * 10000}, 422, "runbook", "deeper than 32"),
    ("deep JSON", {"runbook": json.loads("[" * 200 + "]" * 200)}, 422, "runbook[0]", "deeper"),
    ("big runbook", {"runbook": rb(waits(1000, "d" * 400))}, 422, "runbook", "KiB"),
]


@pytest.mark.parametrize(
    ("body", "status", "field", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_job_input_is_refused_naming_the_field(
    stack: Stack, api: httpx.Client, body: Any, status: int, field: str, says: str
) -> None:
    before = api.get("/api/v1/jobs/counts").json()
    response = api.post(
        "/api/v1/jobs", content=json.dumps(body), headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert any(e["field"].startswith(field) for e in problem["errors"]), problem
    assert says in problem["detail"], problem
    assert api.get("/api/v1/jobs/counts").json() == before  # nothing was submitted


@pytest.mark.parametrize(
    "source",
    [rb(waits(1001)), "[" * 100 + "]" * 100, rb(waits(1000, "d" * 400)), rb(waits(1000))],
)
def test_the_validator_says_what_submission_says(
    stack: Stack, api: httpx.Client, source: Any
) -> None:
    verdict = api.post("/api/v1/runbooks/validate", json={"runbook": source}).json()
    submitted = api.post("/api/v1/jobs", json={"runbook": source})
    assert verdict["valid"] == (submitted.status_code == 201), (verdict, submitted.text)
    if submitted.status_code == 201:
        api.post(f"/api/v1/jobs/{submitted.json()['id']}/cancel")


@pytest.mark.parametrize("query", ["q=a%00b", "q=%00", "status=%00"])
def test_a_nul_in_the_query_is_refused(stack: Stack, api: httpx.Client, query: str) -> None:
    response = api.get(f"/api/v1/jobs?{query}")
    assert response.status_code == 422, response.text


def test_a_body_that_is_not_utf8_is_a_400(stack: Stack, api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/jobs", content=b'{"title": "\xff"}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]
