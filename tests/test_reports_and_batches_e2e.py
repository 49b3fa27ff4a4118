"""Through the whole stack: execution reports (API, Markdown, SSE) and batch runs."""

from __future__ import annotations

import httpx
import pytest
from support.runbooks import example, runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e

LOGIN = {"email": "ops@example.com", "password": "demo"}


def test_a_finished_job_has_a_report_in_the_api_in_markdown_and_on_the_stream(
    api: httpx.Client,
    demo_url: str,
) -> None:
    response = api.post(
        "/api/v1/jobs",
        json={"runbook": example("export-orders.yaml", demo_url), "variables": LOGIN},
    )
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    kinds = [e.event for e in events]
    assert kinds[-2:] == ["report", "status"], "the report comes just before the final status"
    report = events[-2].data["report"]
    assert report["status"] == "completed"
    assert report["runbookTitle"] == "Export shipped orders from Acme Back Office"
    assert (report["totalSteps"], report["executed"], report["succeeded"]) == (8, 8, 8)
    assert (report["failed"], report["skipped"], report["aborted"]) == (0, 0, False)
    assert report["downloadedFiles"] == ["orders.csv"]
    assert report["steps"][6]["capturedValues"]["shippedCount"] == 3
    assert {
        "ordinal",
        "description",
        "status",
        "durationMs",
        "error",
        "capturedValues",
        "actionType",
    } <= set(report["steps"][0])
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    assert job["report"] == report
    markdown = api.get(f"/api/v1/jobs/{job_id}/report.md")
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert "attachment" in markdown.headers["content-disposition"]
    assert markdown.text.startswith("# Export shipped orders from Acme Back Office")
    assert "| 8 | Download the orders CSV | download | success |" in markdown.text
    same = api.get(f"/api/v1/jobs/{job_id}/report", headers={"Accept": "text/markdown"})
    assert same.text == markdown.text


def test_a_report_of_a_failed_job_counts_skipped_steps_and_is_aborted(
    api: httpx.Client,
    demo_url: str,
) -> None:
    document = runbook(
        [
            {"action": {"type": "click", "selector": {"id": "nope"}}},
            {"action": {"type": "wait", "duration": 1}},
        ],
        start_url=f"{demo_url}/login",
        timeout_ms=300,
    )
    job_id = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    read_events(api, f"/api/v1/jobs/{job_id}/events")
    report = api.get(f"/api/v1/jobs/{job_id}/report").json()
    assert (report["failed"], report["skipped"], report["aborted"]) == (1, 1, True)
    assert report["steps"][0]["error"].startswith("Element not found")


def test_an_unfinished_job_has_no_report_yet(api: httpx.Client) -> None:
    assert api.get("/api/v1/jobs/00000000-0000-0000-0000-000000000000/report").status_code == 404


def batch_runbook(demo_url: str) -> dict[str, object]:
    document = runbook(
        [
            {"description": "Open {{page}}", "action": {"type": "navigate", "url": "/{{page}}"}},
            {"action": {"type": "wait", "selector": {"id": "{{field}}"}}},
        ],
        start_url=demo_url,
        timeout_ms=4000,
        variables={"page": {"source": "data"}, "field": {"source": "prompt"}},
    )
    document["dataSource"] = {"mapping": {"page": "Page", "field": "Field"}}
    return document


def test_a_batch_run_makes_one_job_per_row_and_counts_the_outcomes(
    api: httpx.Client,
    demo_url: str,
) -> None:
    rows = "Page,Field\nlogin,email\nlogin,password\nlogin,no-such-field\n"
    response = api.post(
        "/api/v1/jobs",
        json={"runbook": batch_runbook(demo_url), "data": rows, "title": "Check fields"},
    )
    assert response.status_code == 201, response.text
    batch = response.json()
    assert response.headers["location"] == f"/api/v1/batches/{batch['id']}"
    assert batch["total"] == 3
    titles = [job["title"] for job in batch["jobs"]]
    assert titles == ["Check fields · row 1", "Check fields · row 2", "Check fields · row 3"]
    for job in batch["jobs"]:
        assert job["trigger"] == "batch"
        read_events(api, f"/api/v1/jobs/{job['id']}/events")
    done = api.get(f"/api/v1/batches/{batch['id']}").json()
    assert (done["succeeded"], done["failed"], done["finished"]) == (2, 1, True)
    listed = api.get("/api/v1/jobs", params={"batch_id": batch["id"]}).json()["items"]
    assert {j["id"] for j in listed} == {j["id"] for j in batch["jobs"]}
    everything = api.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
    assert {j["id"] for j in batch["jobs"]} <= {j["id"] for j in everything}
    first = api.get(f"/api/v1/jobs/{batch['jobs'][0]['id']}").json()
    assert first["steps"][0]["description"] == "Open login"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([{"Page": "login"}], "data[0].Field"),
        ([], "data"),
        ("", "data"),
        ([1, 2], "data[0]"),
    ],
)
def test_bad_batch_data_is_named_and_nothing_is_recorded(
    api: httpx.Client,
    demo_url: str,
    data: object,
    field: str,
) -> None:
    before = len(api.get("/api/v1/jobs", params={"limit": 200}).json()["items"])
    response = api.post("/api/v1/jobs", json={"runbook": batch_runbook(demo_url), "data": data})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]]
    assert len(api.get("/api/v1/jobs", params={"limit": 200}).json()["items"]) == before


def test_a_batch_needs_the_runbooks_data_mapping(api: httpx.Client, demo_url: str) -> None:
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    response = api.post("/api/v1/jobs", json={"runbook": document, "data": [{"a": 1}]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "runbook.dataSource.mapping"


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ({"source": "env", "envKey": "HOME"}, "runbook.variables.v.envKey"),
        ({"source": "context"}, "runbook.variables.v.source"),
    ],
)
def test_env_outside_the_allowed_prefix_and_context_without_ai_are_rejected(
    api: httpx.Client,
    demo_url: str,
    variable: dict[str, str],
    field: str,
) -> None:
    document = runbook(
        [{"action": {"type": "wait", "duration": 1}}], start_url=demo_url, variables={"v": variable}
    )
    response = api.post("/api/v1/jobs", json={"runbook": document})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_the_ai_capture_strategy_is_rejected_without_a_provider(
    api: httpx.Client, demo_url: str
) -> None:
    document = runbook(
        [
            {
                "action": {"type": "memory"},
                "captures": [{"name": "x", "strategy": "ai", "prompt": "?"}],
            }
        ],
        start_url=demo_url,
    )
    response = api.post("/api/v1/jobs", json={"runbook": document})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "runbook.steps[0].captures[0].strategy"
