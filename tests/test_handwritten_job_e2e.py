"""A hand-written runbook without ``metadata`` or ``settings`` runs as a job through the whole
system, and its report starts at the first step's url."""

from __future__ import annotations

import httpx
import pytest
from support.sse import read_events

pytestmark = pytest.mark.e2e


def test_a_runbook_without_metadata_runs_as_a_job_and_reports_its_start(
    api: httpx.Client, demo_url: str
) -> None:
    document = {
        "title": "Open the login page",
        "steps": [
            {
                "ordinal": 0,
                "description": "Open {{page}}",
                "url": f"{demo_url}/login",
                "action": {"type": "navigate", "url": f"{demo_url}/{{{{page}}}}"},
            },
            {"ordinal": 1, "action": {"type": "wait", "duration": 10}},
        ],
    }
    response = api.post("/api/v1/jobs", json={"runbook": document, "variables": {"page": "login"}})
    assert response.status_code == 201, response.text
    job = response.json()
    _, events = read_events(api, f"/api/v1/jobs/{job['id']}/events")
    assert events[-1].data["status"] == "completed", events[-1].data
    report = api.get(f"/api/v1/jobs/{job['id']}/report").json()
    assert report["startUrl"] == f"{demo_url}/login"
    assert report["totalSteps"] == 2
    assert report["steps"][0]["description"] == "Open login"
