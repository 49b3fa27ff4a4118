"""Running again through the real stack: a finished job re-run with the same runbook version,
variables and options (its secrets given again), a batch's failed rows re-run as a new batch, and
a run compared step by step with the previous run of the same runbook."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from support.runbooks import runbook
from support.sse import read_events
from test_reports_and_batches_e2e import batch_runbook

pytestmark = pytest.mark.e2e


def finish(api: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    read_events(api, f"/api/v1/jobs/{job['id']}/events", timeout=60)
    done: dict[str, Any] = api.get(f"/api/v1/jobs/{job['id']}").json()
    return done


def test_a_finished_job_runs_again_with_its_runbook_variables_and_options(
    api: httpx.Client, demo_url: str
) -> None:
    document = runbook(
        [{"description": "Open {{page}}", "action": {"type": "navigate", "url": "/{{page}}"}}],
        start_url=demo_url,
        variables={"page": {"source": "prompt"}, "token": {"source": "prompt", "sensitive": True}},
    )
    first = api.post(
        "/api/v1/jobs",
        json={
            "runbook": document,
            "variables": {"page": "login"},
            "secrets": {"token": "s3cret-value"},
            "labels": {"team": "ops"},
            "priority": 4,
            "screenshots": True,
        },
    ).json()
    running = api.post(f"/api/v1/jobs/{first['id']}/rerun", json={"secrets": {"token": "x"}})
    assert running.status_code == 409, "a job runs again once it has ended"
    assert finish(api, first)["status"] == "completed"

    missing = api.post(f"/api/v1/jobs/{first['id']}/rerun")
    assert missing.status_code == 422, "its secrets were deleted when it ended"
    assert missing.json()["errors"][0]["field"].endswith(".token"), missing.text
    again = api.post(f"/api/v1/jobs/{first['id']}/rerun", json={"secrets": {"token": "new"}})
    assert again.status_code == 201, again.text
    second = again.json()
    assert second["id"] != first["id"]
    assert second["labels"] == {"team": "ops", "runwright.rerun_of": first["id"]}
    assert (second["priority"], second["title"]) == (4, first["title"])
    done = finish(api, second)
    assert done["status"] == "completed"
    assert done["steps"][0]["description"] == "Open login", "the same variables"
    assert done["variables"] == {"page": "login"}, "shown, and no secret among them"
    artifacts = api.get(f"/api/v1/jobs/{second['id']}/artifacts").json()["items"]
    assert any(a["kind"] == "screenshot" for a in artifacts), "the same options"
    assert api.post(f"/api/v1/jobs/{uuid.uuid4()}/rerun").status_code == 404


def test_a_batch_runs_its_failed_rows_again_as_a_new_batch(
    api: httpx.Client, demo_url: str
) -> None:
    rows = "Page,Field\nlogin,email\nlogin,no-such-field\nlogin,password\n"
    batch = api.post(
        "/api/v1/jobs", json={"runbook": batch_runbook(demo_url), "data": rows, "title": "Fields"}
    ).json()
    for job in batch["jobs"]:
        finish(api, job)
    failed = [
        j["id"]
        for j in api.get(f"/api/v1/batches/{batch['id']}").json()["jobs"]
        if j["status"] == "failed"
    ]
    assert len(failed) == 1

    redo = api.post(f"/api/v1/batches/{batch['id']}/rerun")
    assert redo.status_code == 201, redo.text
    again = redo.json()
    assert again["id"] != batch["id"]
    assert again["total"] == 1
    (job,) = again["jobs"]
    assert job["title"] == "Fields · row 1"
    assert job["labels"]["runwright.rerun_of"] == failed[0]
    done = finish(api, job)
    assert done["status"] == "failed", "the same row fails the same way"
    assert (
        "no-such-field" in done["steps"][1]["description"] or done["steps"][1]["status"] == "failed"
    )

    everything = api.post(f"/api/v1/batches/{batch['id']}/rerun", json={"only": "all"}).json()
    assert everything["total"] == 3
    for job in everything["jobs"]:
        finish(api, job)
    clean = api.post(
        "/api/v1/jobs",
        json={"runbook": batch_runbook(demo_url), "data": "Page,Field\nlogin,email\n"},
    ).json()
    for job in clean["jobs"]:
        finish(api, job)
    nothing = api.post(f"/api/v1/batches/{clean['id']}/rerun")
    assert nothing.status_code == 409
    assert nothing.json()["code"] == "nothing_failed"


def test_a_run_is_compared_step_by_step_with_the_previous_run_of_its_runbook(
    api: httpx.Client, demo_url: str
) -> None:
    slug = f"cmp-{uuid.uuid4().hex[:6]}"
    one = runbook([{"action": {"type": "wait", "duration": 50}}], start_url=demo_url)
    two = runbook(
        [
            {"action": {"type": "wait", "duration": 50}},
            {"action": {"type": "wait", "duration": 300}},
        ],
        start_url=demo_url,
    )
    assert (
        api.post(
            "/api/v1/runbooks", json={"slug": slug, "runbook": one, "publish": True}
        ).status_code
        == 201
    )
    first = finish(api, api.post("/api/v1/jobs", json={"runbook_ref": slug}).json())
    lonely = api.get(f"/api/v1/jobs/{first['id']}/compare")
    assert lonely.status_code == 404, "nothing ran before the first run"
    api.post(f"/api/v1/runbooks/{slug}/versions", json={"runbook": two})
    api.post(f"/api/v1/runbooks/{slug}/versions/2/publish")
    other = finish(api, api.post("/api/v1/jobs", json={"runbook": one}).json())
    second = finish(api, api.post("/api/v1/jobs", json={"runbook_ref": slug}).json())

    compared = api.get(f"/api/v1/jobs/{second['id']}/compare").json()
    assert compared["base"]["id"] == first["id"], "the previous run of the same runbook"
    assert (compared["base"]["runbook_version"], compared["head"]["runbook_version"]) == (1, 2)
    assert compared["same_runbook_version"] is False
    assert [s["ordinal"] for s in compared["steps"]] == [0, 1]
    assert compared["steps"][0]["changed"] is False
    assert (
        compared["steps"][0]["base"]["status"]
        == compared["steps"][0]["head"]["status"]
        == "success"
    )
    assert compared["steps"][1]["base"] is None
    assert compared["steps"][1]["changed"] is True
    assert compared["delta_ms"] is not None
    assert compared["delta_ms"] > 0

    chosen = api.get(f"/api/v1/jobs/{second['id']}/compare", params={"with": other["id"]}).json()
    assert chosen["base"]["id"] == other["id"]
    assert api.get(f"/api/v1/jobs/{second['id']}/compare", params={"with": "nope"}).status_code in (
        400,
        404,
        422,
    )
