"""Parsing a runbook reports every error at once, each with its field path; a hand-written
runbook may leave out ``metadata`` and ``settings``; Refrain's runbooks parse unchanged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from runwright_runbook import RunbookInvalid, parse_runbook
from runwright_runbook.model import ACTION_TYPES
from runwright_runbook.parse import load_yaml
from support.runbooks import EXAMPLES, runbook


def errors_of(document: Any) -> dict[str, str]:
    with pytest.raises(RunbookInvalid) as caught:
        parse_runbook(document)
    return {e.field: e.message for e in caught.value.errors}


def several_faults() -> dict[str, Any]:
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/"}},
            {"action": {"type": "teleport"}},
            {"action": {"type": "click"}, "riskLevel": "extreme"},
            {"action": {"type": "wait"}, "ordinal": 1},
        ],
        start_url="http://127.0.0.1:9/",
        variables={"who": {"source": "guess"}, "ok": {"source": "fixed", "valu": 1}},
    )
    document["settings"]["defaultTimeout"] = "ten seconds"
    document["colour"] = "blue"
    return document


def test_every_error_is_reported_at_once_with_its_field_path() -> None:
    assert errors_of(several_faults()).keys() == {
        "colour",
        "steps[1].action.type",
        "steps[2].action.selector",
        "steps[2].riskLevel",
        "steps[3].ordinal",
        "steps[3].action.duration",
        "settings.defaultTimeout",
        "variables.who.source",
        "variables.ok.valu",
    }


def test_each_error_says_what_is_wrong() -> None:
    found = errors_of(several_faults())
    assert found["colour"] == "Object contains unknown field `colour`"
    assert found["steps[2].action.selector"] == "Object missing required field `selector`"
    assert found["settings.defaultTimeout"] == "Expected `int`, got `str`"
    assert "increasing; 1 follows 2" in found["steps[3].ordinal"]
    assert "guess" in found["variables.who.source"]


def test_an_unknown_action_type_lists_the_valid_ones() -> None:
    document = runbook([{"action": {"type": "teleport"}}], start_url="http://127.0.0.1:9/")
    message = errors_of(document)["steps[0].action.type"]
    assert "'teleport'" in message
    assert message.endswith(", ".join(ACTION_TYPES))


def test_a_document_that_is_no_mapping_or_has_wrong_kinds_is_told_so() -> None:
    assert errors_of([1, 2]) == {"runbook": "expected a mapping with a title and steps"}
    assert errors_of({"title": 3, "steps": "none"}) == {
        "title": "Expected `str`, got `int`",
        "steps": "Expected `array`, got `str`",
    }


def test_a_hand_written_runbook_without_metadata_or_settings_gets_defaults() -> None:
    parsed = parse_runbook(
        "title: Check the status page\n"
        "steps:\n"
        "  - ordinal: 0\n"
        "    url: http://127.0.0.1:9/status\n"
        "    action: {type: navigate, url: http://127.0.0.1:9/status}\n"
        "  - ordinal: 1\n"
        "    action: {type: wait, duration: 10}\n"
    )
    meta = parsed.metadata
    assert (meta.start_url, meta.goal, meta.goal_achieved) == (
        "http://127.0.0.1:9/status",
        "Check the status page",
        False,
    )
    assert (meta.total_steps, meta.generated_at) == (2, None)
    assert parsed.settings.default_timeout == 10000
    assert parsed.settings.stop_on_error is True


def test_without_a_first_step_url_the_start_is_the_base_url() -> None:
    parsed = parse_runbook(
        {
            "title": "Base only",
            "settings": {"baseUrl": "http://127.0.0.1:9/app"},
            "metadata": {"goal": "Given goal"},
            "steps": [{"ordinal": 0, "action": {"type": "navigate", "url": "/x"}}],
        }
    )
    assert parsed.metadata.start_url == "http://127.0.0.1:9/app"
    assert parsed.metadata.goal == "Given goal"
    assert parsed.metadata.total_steps == 1


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_refrains_generated_runbooks_keep_their_metadata_unchanged(path: Path) -> None:
    written = load_yaml(path.read_text())["metadata"]
    parsed = parse_runbook(path.read_text()).metadata
    assert set(written) >= {"startUrl", "goal", "goalAchieved", "totalSteps", "generatedAt"}
    assert msgspec.to_builtins(parsed) == written
