"""Every action type, variables, captures, memory operations, exports and downloads."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from fixture_app.content import blob_bytes
from playwright.async_api import Browser
from support.engine import run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


def act(action: dict[str, Any], **step: Any) -> dict[str, Any]:
    return {"action": action, **step}


async def test_select_chooses_by_value_or_by_visible_text(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act({"type": "select", "selector": {"id": "country"}, "value": "fr"}),
        act(
            {
                "type": "select",
                "selector": {"ariaLabel": "Country", "id": "country"},
                "optionText": "Japan",
            }
        ),
    ]
    run = await run_steps(browser, f"{fixture_url}/forms", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success", "success"]
    assert await run.log() == ["selected: country=fr", "selected: country=jp"]


async def test_input_clears_the_field_then_types(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [act({"type": "input", "selector": {"id": "nickname"}, "value": "new"})]
    run = await run_steps(browser, f"{fixture_url}/forms", steps, tmp_path)
    assert await run.page.input_value("#nickname") == "new"
    assert await run.log() == ["input: nickname=new"]


async def test_hover_and_wait_for_what_it_reveals(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act({"type": "hover", "selector": {"id": "hover-target"}}),
        act({"type": "wait", "selector": {"id": "tooltip"}, "state": "visible"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/forms", steps, tmp_path, timeout_ms=2000)
    assert [s.status for s in run.steps] == ["success", "success"]
    assert "hovered: hover-target" in await run.log()


async def test_key_presses_a_shortcut_or_a_key_in_a_field(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act({"type": "key", "key": "Control+K"}),
        act({"type": "input", "selector": {"id": "enter-input"}, "value": "hello"}),
        act({"type": "key", "key": "Enter", "selector": {"id": "enter-input"}}),
    ]
    run = await run_steps(browser, f"{fixture_url}/forms", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success"] * 3
    log = await run.log()
    assert log[0] == "shortcut: ctrl+k"
    assert log[-1] == "enter: hello"
    assert await run.page.is_visible("#palette")


async def test_navigate_resolves_relative_urls_against_base_url(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act(
            {"type": "navigate", "url": "/navigate-target?from={{origin}}"},
            captures=[{"name": "where", "strategy": "url", "pattern": r"from=(\w+)"}],
        )
    ]
    run = await run_steps(
        browser, f"{fixture_url}/", steps, tmp_path, variables={"origin": "runbook"}
    )
    assert run.step(0).captured == {"where": "runbook"}
    assert await run.page.text_content("h1") == "Arrived"


async def test_scroll_by_delta_and_into_view(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act({"type": "scroll", "deltaY": 900}),
        act({"type": "scroll", "selector": {"id": "bottom-button"}}),
    ]
    run = await run_steps(browser, f"{fixture_url}/long", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success", "success"]
    assert await run.page.evaluate("window.scrollY") > 900


async def test_wait_for_duration_load_state_and_an_element_to_hide(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act({"type": "wait", "duration": 50}),
        act({"type": "wait", "loadState": "networkidle"}),
        act({"type": "wait", "selector": {"id": "spinner"}, "state": "hidden"}),
        act({"type": "wait", "selector": {"id": "late"}, "state": "attached"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/delayed", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success"] * 4
    assert await run.page.is_visible("#spinner-done")


async def test_extract_capture_append_aggregate_and_export(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    rows = (
        "[...document.querySelectorAll('#products tbody tr')].map(r => "
        "({name: r.cells[0].innerText, price: Number(r.cells[1].innerText)}))"
    )
    steps = [
        act({"type": "wait", "selector": {"id": "products"}}),
        act(
            {"type": "extract", "script": rows},
            captures=[
                {"name": "rows", "strategy": "expression", "expression": "{{__extracted}}"},
                {"name": "total", "strategy": "snapshot", "pattern": r"Total: ([0-9.]+)"},
            ],
            memoryOperations=[{"type": "append", "collection": "products", "source": "rows"}],
        ),
        act(
            {"type": "memory"},
            memoryOperations=[
                {
                    "type": "aggregate",
                    "collection": "products",
                    "operation": "sum",
                    "field": "price",
                    "outputVariable": "sum",
                },
                {
                    "type": "aggregate",
                    "collection": "products",
                    "operation": "count",
                    "outputVariable": "count",
                },
                {
                    "type": "aggregate",
                    "collection": "products",
                    "operation": "min",
                    "field": "price",
                    "outputVariable": "cheapest",
                },
                {
                    "type": "aggregate",
                    "collection": "products",
                    "operation": "max",
                    "field": "price",
                    "outputVariable": "dearest",
                },
                {
                    "type": "aggregate",
                    "collection": "products",
                    "operation": "avg",
                    "field": "price",
                    "outputVariable": "mean",
                },
            ],
        ),
        act({"type": "export", "exportCollection": "products"}),
        act(
            {
                "type": "export",
                "exportCollection": "products",
                "format": "json",
                "fileName": "products-{{count}}",
            }
        ),
        act({"type": "navigate", "url": "/navigate-target?sum={{sum}}&n={{count}}"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/table", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success"] * 6, [s.error for s in run.steps]
    assert run.step(1).captured["total"] == "2136.36"
    assert len(run.step(1).captured["rows"]) == 4
    assert run.step(2).captured == {
        "sum": 2136.36,
        "count": 4,
        "cheapest": 4,
        "dearest": 1962.38,
        "mean": 534.09,
    }
    assert await run.page.text_content("#query") == "sum=2136.36&amp;n=4".replace("&amp;", "&")
    exported = [f for f in run.outcome.files if f.kind == "export"]
    assert [f.name for f in exported] == ["products.csv", "products-4.json"]
    with exported[0].path.open() as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["name", "price"]
    assert ["Cable tie", "4"] in table
    assert json.loads(exported[1].path.read_text())[1] == {"name": "Cable tie", "price": 4}
    assert exported[0].sha256 == hashlib.sha256(exported[0].path.read_bytes()).hexdigest()


async def test_export_of_plain_values_has_one_value_column(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act(
            {"type": "extract", "script": "return [1, 2.5, 'x']"},
            captures=[{"name": "v", "strategy": "expression", "expression": "{{__extracted}}"}],
            memoryOperations=[{"type": "append", "collection": "values", "source": "v"}],
        ),
        act({"type": "export", "exportCollection": "values", "fileName": "plain"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    export = run.outcome.files[0]
    assert export.name == "plain.csv"
    assert export.path.read_text() == "value\n1\n2.5\nx\n"


async def test_a_required_capture_that_is_empty_fails_the_step(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act(
            {"type": "memory"},
            captures=[
                {
                    "name": "missing",
                    "strategy": "snapshot",
                    "pattern": "No such text (\\d+)",
                    "required": True,
                }
            ],
        )
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    assert run.step(0).status == "failed"
    assert "required capture `missing` is empty" in run.step(0).error.message


async def test_downloads_by_click_by_button_and_by_the_page_itself(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act({"type": "download", "selector": {"id": "csv-link"}}),
        act({"type": "download", "selector": {"id": "binary-button"}}),
        act(
            {"type": "download", "selector": {"id": "csv-link"}, "downloadPath": "../../etc/passwd"}
        ),
        act({"type": "navigate", "url": "/downloads/auto"}),
        act({"type": "download"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/downloads", steps, tmp_path)
    assert [s.status for s in run.steps] == ["success"] * 5, [s.error for s in run.steps]
    files = [f for f in run.outcome.files if f.kind == "download"]
    assert [f.name for f in files] == ["report.csv", "blob.bin", "passwd", "auto-report.csv"]
    assert all(f.path.parent == tmp_path / "downloads" for f in files)
    assert files[1].path.read_bytes() == blob_bytes()
    assert files[0].path.read_text().startswith("name,price,stock\n")
    assert files[0].original_name == "report.csv"
    assert not (tmp_path.parent / "etc").exists()


async def test_variables_come_from_the_documented_sources_in_priority_order(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    variables_def = {
        "who": {"source": "prompt"},
        "both": {"source": "prompt"},
        "plan": {"source": "fixed", "value": 4.0},
        "region": {"source": "env", "envKey": "RUNWRIGHT_VAR_REGION"},
        "home": {"source": "env", "envKey": "HOME"},
        "stamp": {"source": "expression", "expression": "{{ 6 * 7 }}"},
        "city": {"source": "data"},
    }
    steps = [
        act(
            {
                "type": "navigate",
                "url": "/navigate-target?q={{who}}-{{both}}-{{plan}}-"
                "{{region}}-{{home}}-{{stamp}}-{{city}}",
            }
        )
    ]
    run = await run_steps(
        browser,
        f"{fixture_url}/",
        steps,
        tmp_path,
        runbook_variables=variables_def,
        variables={"who": "ada", "both": "from-prompt", "home": "leaked"},
        secrets={"both": "from-secret"},
        data={"City": "Oslo"},
        env={"RUNWRIGHT_VAR_REGION": "eu", "HOME": "/root"},
        extra={"dataSource": {"mapping": {"city": "City"}}},
    )
    assert run.step(0).status == "success", run.step(0).error
    assert await run.page.text_content("#query") == "q=ada-from-secret-4-eu-leaked-42-Oslo"


async def test_captured_values_and_extracted_results_feed_later_steps(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act(
            {"type": "extract", "script": "document.title"},
            captures=[
                {
                    "name": "title",
                    "strategy": "expression",
                    "expression": "{{__extracted}}",
                    "pattern": "Fixture: (.*)",
                }
            ],
        ),
        act({"type": "navigate", "url": "/navigate-target?t={{title}}&x={{__extracted}}"}),
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path)
    title = run.step(0).captured["title"]
    assert title
    query = await run.page.text_content("#query")
    assert query is not None
    assert query.startswith("t=")


async def test_stop_on_error_skips_the_rest_and_carrying_on_does_not(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [
        act({"type": "click", "selector": {"id": "ghost"}}),
        act({"type": "navigate", "url": "/navigate-target"}),
    ]
    stopped = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path, timeout_ms=300)
    assert [s.status for s in stopped.steps] == ["failed", "skipped"]
    assert stopped.outcome.status == "failed"
    carried = await run_steps(
        browser, f"{fixture_url}/static", steps, tmp_path / "b", timeout_ms=300, stop_on_error=False
    )
    assert [s.status for s in carried.steps] == ["failed", "success"]
    assert carried.outcome.status == "failed"


async def test_pause_between_steps_is_observed(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    steps = [
        act(
            {"type": "extract", "script": "performance.now()"},
            captures=[{"name": "t0", "strategy": "expression", "expression": "{{__extracted}}"}],
        ),
        act(
            {"type": "extract", "script": "performance.now()"},
            captures=[{"name": "t1", "strategy": "expression", "expression": "{{__extracted}}"}],
        ),
    ]
    run = await run_steps(browser, f"{fixture_url}/static", steps, tmp_path, pause_ms=300)
    assert run.values["t1"] - run.values["t0"] >= 300


async def test_a_download_over_the_cap_fails_the_step_and_leaves_no_file(
    browser: Browser,
    fixture_url: str,
    tmp_path: Path,
) -> None:
    steps = [act({"type": "download", "selector": {"id": "big-link"}})]
    run = await run_steps(
        browser, f"{fixture_url}/downloads", steps, tmp_path, max_download_bytes=1 << 20
    )
    assert run.step(0).status == "failed"
    assert run.step(0).error is not None
    assert "over the 1 MB cap" in run.step(0).error.message
    assert list((tmp_path / "downloads").iterdir()) == []


async def test_a_click_that_starts_a_slow_navigation_succeeds_once_and_the_page_has_loaded(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    """The page answers after 2 s, longer than the engine's first quick attempt gives a click:
    Playwright reports a timeout although the click happened; the engine must not click again or
    fail, and the next step sees the new page."""
    steps = [
        act(
            {"type": "click", "selector": {"tagName": "a", "innerText": "Slow page"}},
            captures=[{"name": "waited", "strategy": "url", "pattern": r"ms=(\d+)"}],
        ),
        act(
            {"type": "extract", "script": "document.title"},
            captures=[{"name": "title", "strategy": "expression", "expression": "{{__extracted}}"}],
        ),
    ]
    run = await run_steps(browser, f"{fixture_url}/", steps, tmp_path, timeout_ms=6000)
    assert [s.status for s in run.steps] == ["success", "success"], [s.error for s in run.steps]
    assert run.step(0).retries == 0
    assert run.step(0).captured == {"waited": "2000"}
    assert run.step(1).captured == {"title": "Fixture: slow page"}
