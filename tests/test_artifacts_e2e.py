"""Artifacts through the whole stack: screenshots, exports, downloads and video are handed over
by the executor, stored by the artifact service, announced on the job's stream and downloadable."""

from __future__ import annotations

import io

import av
import httpx
import pytest
from runwright_cli.stack import Stack
from support.runbooks import example, runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e
LOGIN = {"email": "ops@example.com", "password": "demo"}
PNG = b"\x89PNG\r\n\x1a\n"


def run_job(api: httpx.Client, body: dict[str, object]) -> tuple[str, list]:
    response = api.post("/api/v1/jobs", json=body)
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
    return job_id, events


def artifacts(api: httpx.Client, job_id: str) -> list[dict[str, object]]:
    response = api.get(f"/api/v1/jobs/{job_id}/artifacts")
    assert response.status_code == 200
    items: list[dict[str, object]] = response.json()["items"]
    return items


def test_screenshots_after_every_step_are_stored_announced_and_downloadable(
    api: httpx.Client,
    demo_url: str,
) -> None:
    job_id, events = run_job(
        api, {"runbook": example("login.yaml", demo_url), "variables": LOGIN, "screenshots": True}
    )
    assert events[-1].data["status"] == "completed"
    announced = [e.data for e in events if e.event == "artifact"]
    kinds = [e.event for e in events]
    assert kinds.index("artifact") < kinds.index("report") < len(kinds) - 1
    stored = artifacts(api, job_id)
    shots = [a for a in stored if a["kind"] == "screenshot"]
    assert [a["ordinal"] for a in shots] == [0, 1, 2, 3, 4]
    assert {a["artifact_id"] for a in announced} == {a["id"] for a in stored}
    first = api.get(str(shots[0]["url"]))
    assert first.status_code == 200
    assert first.content.startswith(PNG)
    assert first.headers["content-type"] == "image/png"
    assert first.headers["content-disposition"].startswith("attachment")
    assert first.headers["x-content-type-options"] == "nosniff"
    assert len(first.content) == shots[0]["size"]
    inline = api.get(str(shots[0]["url"]), params={"inline": "true"})
    assert inline.headers["content-disposition"].startswith("inline")
    report = api.get(f"/api/v1/jobs/{job_id}/report").json()
    assert {f["artifactId"] for f in report["files"]} == {a["id"] for a in stored}


def test_no_executor_path_reaches_the_report_the_job_or_its_events(
    api: httpx.Client, stack: Stack, demo_url: str
) -> None:
    job_id, events = run_job(
        api, {"runbook": example("export-orders.yaml", demo_url), "variables": LOGIN}
    )
    assert events[-1].data["status"] == "completed"
    report = api.get(f"/api/v1/jobs/{job_id}/report").json()
    assert report["files"], "the run produced files"
    assert all(f["path"] is None for f in report["files"])
    seen = [
        api.get(f"/api/v1/jobs/{job_id}/report").text,
        api.get(f"/api/v1/jobs/{job_id}/report.md").text,
        api.get(f"/api/v1/jobs/{job_id}").text,
        api.get(f"/api/v1/jobs/{job_id}/artifacts").text,
        *(str(e.data) for e in events),
    ]
    data_dir = str(stack.config.data_dir)
    assert not [text for text in seen if data_dir in text]


def test_exports_and_downloads_are_stored_with_their_content(
    api: httpx.Client, demo_url: str
) -> None:
    job_id, events = run_job(
        api, {"runbook": example("export-orders.yaml", demo_url), "variables": LOGIN}
    )
    assert events[-1].data["status"] == "completed"
    (download,) = [a for a in artifacts(api, job_id) if a["kind"] == "download"]
    assert download["name"] == "orders.csv"
    assert download["content_type"] == "text/csv"
    body = api.get(str(download["url"])).text
    assert body.startswith("id,customer,amount,status")
    assert body.count("\n") == 9


def test_a_download_named_to_escape_is_stored_under_a_generated_key(
    api: httpx.Client,
    stack: Stack,
    fixture_url: str,
) -> None:
    document = runbook(
        [
            {
                "action": {
                    "type": "download",
                    "selector": {"id": "csv-link"},
                    "downloadPath": "../../etc/passwd",
                }
            }
        ],
        start_url=f"{fixture_url}/downloads",
    )
    job_id, _ = run_job(api, {"runbook": document})
    (item,) = artifacts(api, job_id)
    assert item["name"] == "passwd"
    root = stack.data_dir / "artifacts"
    stored = list(root.rglob(str(item["id"])))
    assert len(stored) == 1
    assert stored[0].parent.name == job_id
    assert not (stack.data_dir / "etc").exists()


def test_a_failed_step_leaves_its_screenshot_as_an_artifact(
    api: httpx.Client, demo_url: str
) -> None:
    document = runbook(
        [{"action": {"type": "click", "selector": {"id": "missing"}}}],
        start_url=f"{demo_url}/login",
        timeout_ms=400,
    )
    job_id, _ = run_job(api, {"runbook": document})
    (shot,) = artifacts(api, job_id)
    assert (shot["kind"], shot["ordinal"]) == ("screenshot", 0)
    assert api.get(str(shot["url"])).content.startswith(PNG)


def test_a_requested_video_is_a_webm_of_the_run(api: httpx.Client, fixture_url: str) -> None:
    document = runbook(
        [{"action": {"type": "wait", "duration": 1500}}], start_url=f"{fixture_url}/mutating"
    )
    job_id, _ = run_job(api, {"runbook": document, "video": True})
    (video,) = [a for a in artifacts(api, job_id) if a["kind"] == "video"]
    assert video["content_type"] == "video/webm"
    data = api.get(str(video["url"]), params={"inline": "1"})
    assert data.headers["content-disposition"].startswith("inline")
    assert data.content[:4] == b"\x1a\x45\xdf\xa3"
    with av.open(io.BytesIO(data.content)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        duration = float(container.duration or 0) / av.time_base
    assert frames >= 5
    assert duration >= 1.0

    # A player seeks with byte ranges: each answers exactly the bytes asked for.
    whole = data.content
    assert data.headers["accept-ranges"] == "bytes"
    for asked, first, last in (("0-99", 0, 99), ("100-", 100, len(whole) - 1), ("-10", -10, -1)):
        part = api.get(str(video["url"]), headers={"Range": f"bytes={asked}"})
        assert part.status_code == 206
        start = first % len(whole)
        end = last % len(whole)
        assert part.headers["content-range"] == f"bytes {start}-{end}/{len(whole)}"
        assert part.content == whole[start : end + 1]
    beyond = api.get(str(video["url"]), headers={"Range": f"bytes={len(whole)}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(whole)}"


def test_unknown_artifacts_and_jobs_are_404(api: httpx.Client) -> None:
    assert api.get("/api/v1/artifacts/0b8b8f5e-4b5a-4a43-9a5e-000000000000").status_code == 404
    assert api.get("/api/v1/artifacts/nope").status_code == 404
    assert api.get("/api/v1/jobs/0b8b8f5e-4b5a-4a43-9a5e-000000000000/artifacts").status_code == 404
