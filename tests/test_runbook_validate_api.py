"""``POST /api/v1/runbooks/validate`` through the real gateway: a runbook's errors by field, its
declared variables (never a secret's value), and problem+json for a body that is not a request."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from support.runbooks import example, runbook

pytestmark = pytest.mark.e2e

VALIDATE = "/api/v1/runbooks/validate"


def validate(api: httpx.Client, document: object) -> dict[str, Any]:
    response = api.post(VALIDATE, json={"runbook": document})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_valid_runbook_lists_its_title_steps_and_declared_variables(
    api: httpx.Client, demo_url: str
) -> None:
    answer = validate(api, example("login.yaml", demo_url))
    assert answer["valid"] is True
    assert answer["errors"] == []
    assert answer["title"] == "Sign in to Acme Back Office"
    assert answer["steps"] == 5
    by_name = {v["name"]: v for v in answer["variables"]}
    assert by_name["email"] == {
        "name": "email",
        "source": "prompt",
        "required": True,
        "secret": False,
        "description": "Login email address",
        "value": None,
    }
    assert by_name["password"]["secret"] is True
    assert by_name["password"]["required"] is True


def test_a_sensitive_fixed_value_is_never_in_the_answer(api: httpx.Client) -> None:
    document = runbook(
        [{"action": {"type": "navigate", "url": "/"}}],
        start_url="http://127.0.0.1:9/",
        variables={
            "region": {"source": "fixed", "value": "eu-west"},
            "api_key": {"source": "fixed", "value": "k-123-very-secret", "sensitive": True},
        },
    )
    response = api.post(VALIDATE, json={"runbook": document})
    assert response.status_code == 200, response.text
    assert "k-123-very-secret" not in response.text
    by_name = {v["name"]: v for v in response.json()["variables"]}
    assert by_name["region"]["value"] == "eu-west"
    assert by_name["api_key"] == {
        "name": "api_key",
        "source": "fixed",
        "required": True,
        "secret": True,
        "description": None,
        "value": None,
    }


def test_an_invalid_runbook_is_answered_with_the_path_of_the_field_at_fault(
    api: httpx.Client, demo_url: str
) -> None:
    document = yaml.safe_load(example("login.yaml", demo_url))
    del document["steps"][3]["action"]["selector"]
    answer = validate(api, yaml.safe_dump(document, sort_keys=False))
    assert answer["valid"] is False
    assert [e["field"] for e in answer["errors"]] == ["steps[3].action.selector"]
    assert "selector" in answer["errors"][0]["message"]
    assert answer["title"] == "Sign in to Acme Back Office"
    assert answer["steps"] == 5
    assert answer["variables"] == []


def test_submission_rules_about_the_runbook_itself_are_errors_too(
    api: httpx.Client, demo_url: str
) -> None:
    document = yaml.safe_load(example("login.yaml", demo_url))
    document["variables"]["email"]["source"] = "context"
    answer = validate(api, document)
    assert answer["valid"] is False
    assert [e["field"] for e in answer["errors"]] == ["variables.email.source"]
    assert "AI provider" in answer["errors"][0]["message"]
    assert {v["name"] for v in answer["variables"]} == {"email", "password"}


def test_a_yaml_syntax_error_names_its_line_and_column(api: httpx.Client) -> None:
    answer = validate(api, "title: Broken\nsteps: [one\nsettings: {}\n")
    assert answer["valid"] is False
    [error] = answer["errors"]
    assert error["field"] == "runbook"
    assert "malformed YAML at line 3, column" in error["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "runbook"),
        ({"runbook": 5}, "runbook"),
        ({"runbook": "title: x", "variables": {}}, "variables"),
    ],
    ids=["no-runbook", "runbook-not-text-or-object", "unknown-field"],
)
def test_a_body_that_is_not_a_validation_request_is_a_422_naming_the_field(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    response = api.post(VALIDATE, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_validation_needs_the_token(api: httpx.Client) -> None:
    response = api.post(VALIDATE, json={"runbook": "title: x"}, headers={"Authorization": ""})
    assert response.status_code == 401


def test_every_error_of_a_runbook_is_answered_at_once(api: httpx.Client, demo_url: str) -> None:
    document = yaml.safe_load(example("login.yaml", demo_url))
    del document["steps"][3]["action"]["selector"]
    document["steps"][1]["action"]["type"] = "teleport"
    document["settings"]["defaultTimeout"] = "soon"
    answer = validate(api, document)
    assert answer["valid"] is False
    assert sorted(e["field"] for e in answer["errors"]) == [
        "settings.defaultTimeout",
        "steps[1].action.type",
        "steps[3].action.selector",
    ]
    teleport = next(e for e in answer["errors"] if e["field"] == "steps[1].action.type")
    assert "click, input, select, navigate" in teleport["message"]


def test_a_hand_written_runbook_without_metadata_or_settings_is_valid(api: httpx.Client) -> None:
    document = {
        "title": "Hand-written",
        "steps": [{"ordinal": 0, "action": {"type": "navigate", "url": "http://127.0.0.1:9/"}}],
    }
    answer = validate(api, document)
    assert answer["errors"] == []
    assert answer["valid"] is True
    assert answer["steps"] == 1
