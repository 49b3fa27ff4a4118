"""Bad input gets a problem+json answer that names the field, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import example, runbook

pytestmark = pytest.mark.e2e

START = "http://127.0.0.1:9/"


def good(**settings: Any) -> dict[str, Any]:
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/login"}},
            {"action": {"type": "input", "value": "x", "selector": {"id": "email"}}},
            {"action": {"type": "click", "selector": {"id": "go"}}},
        ],
        start_url=START,
    )
    document["settings"].update(settings)
    return document


def broken_click() -> dict[str, Any]:
    document = good()
    del document["steps"][2]["action"]["selector"]
    return document


def unknown_action() -> dict[str, Any]:
    document = good()
    document["steps"][1]["action"]["type"] = "teleport"
    return document


def unknown_top_level() -> dict[str, Any]:
    document = good()
    document["colour"] = "blue"
    return document


def no_steps() -> dict[str, Any]:
    document = good()
    document["steps"] = []
    return document


def unordered() -> dict[str, Any]:
    document = good()
    document["steps"][2]["ordinal"] = 1
    return document


CASES = [
    pytest.param(
        {"runbook": "title: [unclosed\nsteps: -"}, "runbook", "malformed YAML", id="malformed-yaml"
    ),
    pytest.param(
        {"runbook": unknown_action()},
        "runbook.steps[1].action.type",
        "teleport",
        id="unknown-action-type",
    ),
    pytest.param(
        {"runbook": broken_click()},
        "runbook.steps[2].action.selector",
        "missing required field",
        id="missing-required-field",
    ),
    pytest.param(
        {"runbook": good(defaultTimeout="ten seconds")},
        "runbook.settings.defaultTimeout",
        "Expected `int`",
        id="wrong-type",
    ),
    pytest.param(
        {"runbook": unknown_top_level()},
        "runbook.colour",
        "unknown field",
        id="unknown-top-level-field",
    ),
    pytest.param({"runbook": no_steps()}, "runbook.steps", "length", id="no-steps"),
    pytest.param(
        {"runbook": unordered()},
        "runbook.steps[2].ordinal",
        "increasing",
        id="ordinals-out-of-order",
    ),
    pytest.param(
        {"runbook": good(), "variables": {"email": ["a", "list"]}},
        "variables.email",
        "Expected",
        id="variable-of-wrong-type",
    ),
    pytest.param(
        {"runbook": good(), "priority": "high"},
        "priority",
        "Expected `int",
        id="priority-of-wrong-type",
    ),
    pytest.param(
        {"runbook": good(), "colour": 1}, "colour", "unknown field", id="unknown-request-field"
    ),
    pytest.param({"variables": {}}, "runbook", "missing required field", id="no-runbook"),
]


def job_count(api: httpx.Client) -> int:
    return len(api.get("/api/v1/jobs", params={"limit": 200}).json()["items"])


@pytest.mark.parametrize(("body", "field", "message"), CASES)
def test_bad_runbooks_get_422_naming_the_field_and_write_nothing(
    api: httpx.Client,
    body: dict[str, Any],
    field: str,
    message: str,
) -> None:
    before = job_count(api)
    response = api.post("/api/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == [field]
    assert message.lower() in problem["errors"][0]["message"].lower()
    assert field in problem["detail"]
    assert job_count(api) == before


def test_a_runbook_with_several_faults_gets_one_422_naming_each(api: httpx.Client) -> None:
    document = unknown_action()
    del document["steps"][2]["action"]["selector"]
    document["colour"] = "blue"
    before = job_count(api)
    response = api.post("/api/v1/jobs", json={"runbook": document})
    assert response.status_code == 422, response.text
    assert sorted(e["field"] for e in response.json()["errors"]) == [
        "runbook.colour",
        "runbook.steps[1].action.type",
        "runbook.steps[2].action.selector",
    ]
    assert job_count(api) == before


def test_a_missing_prompt_variable_is_named(api: httpx.Client, demo_url: str) -> None:
    before = job_count(api)
    response = api.post(
        "/api/v1/jobs",
        json={"runbook": example("login.yaml", demo_url), "variables": {"email": "a@b.c"}},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["variables.password"]
    assert job_count(api) == before


def test_a_prompt_variable_supplied_as_a_secret_is_enough(api: httpx.Client, demo_url: str) -> None:
    response = api.post(
        "/api/v1/jobs",
        json={
            "runbook": example("login.yaml", demo_url),
            "variables": {"email": "a@b.c"},
            "secrets": {"password": "demo"},
        },
    )
    assert response.status_code == 201, response.text


def test_a_body_that_is_not_json_is_a_clear_400(api: httpx.Client) -> None:
    response = api.post(
        "/api/v1/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "not valid JSON" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/jobs/{id}", "/api/v1/jobs/{id}/events"])
@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid"])
def test_an_unknown_job_is_404(api: httpx.Client, path: str, job_id: str) -> None:
    response = api.get(path.format(id=job_id))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert job_id in response.json()["detail"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic dXNlcjpwdw=="}],
    ids=["missing", "wrong", "not-bearer"],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs"),
        ("GET", f"/api/v1/jobs/{uuid.uuid4()}/events"),
    ],
)
def test_a_missing_or_wrong_token_is_401_and_writes_nothing(
    stack: Stack,
    api: httpx.Client,
    headers: dict[str, str],
    method: str,
    path: str,
) -> None:
    before = job_count(api)
    response = httpx.request(
        method, f"{stack.gateway_url}{path}", headers=headers, json={"runbook": good()}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert job_count(api) == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://elsewhere.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://intranet.example"},
    ],
)
def test_a_change_sent_from_another_site_with_the_console_session_is_refused(
    stack: Stack, api: httpx.Client, headers: dict[str, str]
) -> None:
    before = job_count(api)
    signed_in = httpx.post(f"{stack.gateway_url}/console/session", json={"token": stack.token})
    assert signed_in.status_code == 204, signed_in.text
    cookies = {"runwright_session": signed_in.cookies["runwright_session"]}
    response = httpx.post(
        f"{stack.gateway_url}/api/v1/jobs",
        headers=headers,
        cookies=cookies,
        json={"runbook": good()},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "cross_site_request"
    assert job_count(api) == before
    # The same session from the console's own origin, and reads from anywhere, still work.
    host = stack.gateway_url.split("://", 1)[1]
    same = httpx.post(
        f"{stack.gateway_url}/api/v1/jobs",
        headers={"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"},
        cookies=cookies,
        json={"runbook": good(), "run_at": "2099-01-01T00:00:00+00:00"},
    )
    assert same.status_code == 201, same.text
    api.post(f"/api/v1/jobs/{same.json()['id']}/cancel")
    read = httpx.get(f"{stack.gateway_url}/api/v1/jobs", headers=headers, cookies=cookies)
    assert read.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "sleeping"}, "status"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "%%%"}, "cursor"),
        ({"trigger": "cron"}, "trigger"),
        ({"q": "x" * 201}, "q"),
        ({"batch_id": "seven"}, "batch_id"),
    ],
)
def test_bad_list_parameters_are_named(
    api: httpx.Client, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/jobs", params=params)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("params", "headers", "field"),
    [
        ({"after": "soon"}, {}, "after"),
        ({}, {"Last-Event-ID": "x"}, "Last-Event-ID"),
        ({"types": "status,frames"}, {}, "types"),
        ({"after": str(2**64)}, {}, "after"),
        ({"after": "-1"}, {}, "after"),
        ({}, {"Last-Event-ID": str(2**64)}, "Last-Event-ID"),
    ],
)
def test_bad_workspace_stream_parameters_are_named(
    api: httpx.Client, params: dict[str, str], headers: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/events", params=params, headers=headers)
    assert response.status_code in (400, 422)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("params", "headers", "field"),
    [
        ({"after": str(2**64)}, {}, "after"),
        ({"after": "-1"}, {}, "after"),
        ({}, {"Last-Event-ID": "99999999999999999999"}, "Last-Event-ID"),
        ({}, {"Last-Event-ID": "-5"}, "Last-Event-ID"),
        ({"types": "status,\x00"}, {}, "types"),
        ({"live": "maybe"}, {}, "live"),
    ],
)
def test_bad_job_stream_parameters_are_named_before_anything_streams(
    api: httpx.Client, params: dict[str, str], headers: dict[str, str], field: str
) -> None:
    job_id = "00000000-0000-0000-0000-000000000001"
    response = api.get(f"/api/v1/jobs/{job_id}/events", params=params, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
