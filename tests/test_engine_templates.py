"""``{{...}}`` in a step is rendered when the step starts, with the values captured so far; an
``expression`` is a template of its own (names, JavaScript, literal text, typed when whole)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from runwright_common.redaction import MASK
from runwright_engine.engine import Observer, StepResult
from runwright_engine.errors import TEMPLATE_HINT
from runwright_runbook.model import Step
from support.engine import run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


def act(action: dict[str, Any], **step: Any) -> dict[str, Any]:
    return {"action": action, **step}


def extract(script: str, **captures: str) -> dict[str, Any]:
    """An extract step whose captures are expressions, name → template."""
    return act(
        {"type": "extract", "script": script},
        captures=[
            {"name": name, "strategy": "expression", "expression": template}
            for name, template in captures.items()
        ],
    )


class Recorder(Observer):
    """What an observer is told: each step's description as it starts and as it finished."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []

    async def step_started(self, step: Step, description: str) -> None:
        self.started.append(description)

    async def step_finished(self, step: Step, result: StepResult) -> None:
        self.finished.append(result.description)


async def test_a_description_shows_a_value_captured_two_steps_earlier_and_masks_a_secret(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    recorder = Recorder()
    steps = [
        extract("document.title", title="{{__extracted}}"),
        act({"type": "wait", "duration": 1}, description="Before: {{title}}"),
        act(
            {"type": "input", "selector": {"id": "nickname"}, "value": "{{password}}"},
            description="Type {{password}} on “{{title}}” for {{who}} (pin {{pin}}; {{note}})",
        ),
    ]
    run = await run_steps(
        browser,
        f"{fixture_url}/forms",
        steps,
        tmp_path,
        variables={"who": "ada", "note": "a note with hunter2-secret in it"},
        secrets={"password": "hunter2-secret"},
        runbook_variables={"pin": {"source": "fixed", "value": "42", "sensitive": True}},
        observer=recorder,
    )
    assert [s.status for s in run.steps] == ["success"] * 3, [s.error for s in run.steps]
    said = (
        f"Type {MASK} on “Fixture: forms, hover and keys” for ada"
        f" (pin {MASK}; a note with {MASK} in it)"
    )
    assert recorder.started[1:] == ["Before: Fixture: forms, hover and keys", said]
    assert recorder.finished[2] == said
    assert run.step(2).description == said
    assert run.engine.describe(run.engine.runbook.steps[2]) == said
    assert await run.page.input_value("#nickname") == "hunter2-secret"


async def test_urls_values_keys_and_selectors_use_values_captured_so_far(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        extract("({field: 'nickname', who: {name: 'ada', n: 3}})", found="{{__extracted}}"),
        act(
            {
                "type": "input",
                "selector": {"id": "{{found.field}}"},
                "value": "{{found.who.name}}-{{found.who.n}}",
            }
        ),
        act({"type": "key", "key": "{{keyname}}", "selector": {"id": "{{found.field}}"}}),
        act(
            {
                "type": "navigate",
                "url": "/navigate-target?name={{found.who.name}}&n={{found.who.n}}",
            }
        ),
    ]
    run = await run_steps(
        browser, f"{fixture_url}/forms", steps, tmp_path, variables={"keyname": "End"}
    )
    assert [s.status for s in run.steps] == ["success"] * 4, [s.error for s in run.steps]
    assert run.step(1).strategy == "id"
    assert await run.page.text_content("#query") == "name=ada&n=3"


async def test_an_expression_keeps_literal_text_around_its_placeholders(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        extract(
            "({region: 'South', product: 'Cobalt', other: 'West: Acme'})",
            row="{{__extracted}}",
        ),
        act(
            {"type": "memory"},
            captures=[
                {
                    "name": "label",
                    "strategy": "expression",
                    "expression": "{{row.region}}: {{row.product}}; {{row.other}}",
                }
            ],
        ),
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    assert run.step(1).captured == {"label": "South: Cobalt; West: Acme"}, run.step(1).error


async def test_a_single_placeholder_keeps_its_number_type_into_a_json_export(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act(
            {"type": "extract", "script": "Number('2136.36')"},
            captures=[
                {"name": "total", "strategy": "expression", "expression": " {{ __extracted }} "},
                {"name": "answer", "strategy": "expression", "expression": "{{ 6 * 7 }}"},
                {"name": "text", "strategy": "expression", "expression": "n={{answer}}"},
            ],
            memoryOperations=[
                {"type": "append", "collection": "figures", "source": "total"},
                {"type": "append", "collection": "figures", "source": "answer"},
                {"type": "append", "collection": "figures", "source": "text"},
            ],
        ),
        act({"type": "export", "exportCollection": "figures", "format": "json"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success"] * 2, [s.error for s in run.steps]
    exported = json.loads(run.outcome.files[0].path.read_text())
    assert exported == [2136.36, 42, "n=42"]
    assert [type(v) for v in exported] == [float, int, str]


async def test_a_javascript_placeholder_is_evaluated_in_the_page(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act(
            {"type": "navigate", "url": "/navigate-target?stamp={{stamp}}&kind={{kind}}"},
            captures=[
                {
                    "name": "where",
                    "strategy": "expression",
                    "expression": "{{ location.pathname }} of {{ document.title.length }} chars",
                }
            ],
        )
    ]
    run = await run_steps(
        browser,
        f"{fixture_url}/static",
        steps,
        tmp_path,
        runbook_variables={
            "stamp": {"source": "expression", "expression": "{{Date.now()}}"},
            "kind": {"source": "expression", "expression": "t-{{ typeof Date.now() }}"},
        },
    )
    assert run.step(0).status == "success", run.step(0).error
    assert isinstance(run.values["stamp"], int)
    assert run.values["stamp"] > 1_600_000_000_000
    assert await run.page.text_content("#query") == f"stamp={run.values['stamp']}&kind=t-number"
    assert run.step(0).captured == {"where": "/navigate-target of 24 chars"}


async def test_an_unknown_name_in_an_expression_fails_its_step_naming_step_and_placeholder(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act({"type": "wait", "duration": 1}),
        act(
            {"type": "memory"},
            captures=[{"name": "sum", "strategy": "expression", "expression": "{{totl}} €"}],
        ),
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success", "failed"]
    error = run.step(1).error
    assert error is not None
    assert error.message.startswith("step 2, capture `sum`: `{{totl}}` names no variable")
    assert error.hint == TEMPLATE_HINT
    assert "sum" not in run.values


async def test_a_variable_expression_that_fails_fails_the_steps_that_use_it(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act({"type": "navigate", "url": "/navigate-target?fine=1"}),
        act({"type": "navigate", "url": "/navigate-target?code={{code}}"}),
    ]
    run = await run_steps(
        browser,
        f"{fixture_url}/static",
        steps,
        tmp_path,
        stop_on_error=False,
        runbook_variables={"code": {"source": "expression", "expression": "A-{{missing.part}}"}},
    )
    assert [s.status for s in run.steps] == ["success", "failed"]
    error = run.step(1).error
    assert error is not None
    assert error.message.startswith("step 2: variable `code`: `{{missing.part}}` names no")
    assert await run.page.text_content("#query") == "fine=1"


async def test_javascript_that_throws_fails_its_step_naming_the_placeholder(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act(
            {"type": "memory"},
            captures=[
                {"name": "n", "strategy": "expression", "expression": "{{ missingFn(1) }} items"}
            ],
        )
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    error = run.step(0).error
    assert error is not None
    assert error.message.startswith("step 1, capture `n`: `{{missingFn(1)}}` failed in the page")
    assert "missingFn is not defined" in error.message
