"""Webhooks through the whole system: register over the API, run a job in Chromium, receive a
signed ``job.finished`` call on loopback, and read the delivery back from the API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from runwright_stack.stack import Stack
from support.metrics import scrape, total
from support.runbooks import runbook
from test_webhooks import Receiver, signature_is_valid

pytestmark = pytest.mark.e2e


def register(api: httpx.Client, **body: Any) -> dict[str, Any]:
    response = api.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/webhooks/{created['id']}"
    return created


def run_job(api: httpx.Client, demo_url: str, steps: list[dict[str, Any]], title: str) -> str:
    document = runbook(steps, start_url=demo_url, title=title, timeout_ms=1500)
    response = api.post("/api/v1/jobs", json={"runbook": document})
    assert response.status_code == 201, response.text
    job_id: str = response.json()["id"]
    return job_id


def delivered(api: httpx.Client, webhook_id: str, job_id: str) -> dict[str, Any]:
    """The job's delivery, once its attempt is recorded (just after the receiver answered)."""
    deadline = time.monotonic() + 15
    while True:
        response = api.get(f"/api/v1/webhooks/{webhook_id}/deliveries", params={"job_id": job_id})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        if items and items[0]["status"] == "delivered":
            assert len(items) == 1
            return items[0]
        assert time.monotonic() < deadline, f"no delivered delivery for {job_id}: {items}"
        time.sleep(0.1)


def test_a_registered_webhook_gets_a_signed_job_finished_call_and_shows_the_delivery(
    api: httpx.Client, demo_url: str, stack: Stack
) -> None:
    approval = stack.metrics_urls["approval"]
    sent_before = total(scrape(approval), "runwright_webhook_deliveries_total", outcome="delivered")
    with Receiver() as receiver:
        hook = register(api, url=receiver.url(), events=["job.finished"])
        try:
            assert hook["secret"].startswith("whsec_")
            assert (hook["events"], hook["format"], hook["active"]) == (
                ["job.finished"],
                "json",
                True,
            )
            listed = api.get("/api/v1/webhooks").json()["items"]
            [mine] = [h for h in listed if h["id"] == hook["id"]]
            assert "secret" not in mine, "the secret is shown only once"
            job_id = run_job(
                api,
                demo_url,
                [
                    {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
                    {"action": {"type": "wait", "duration": 10}},
                ],
                "Webhook smoke run",
            )
            [call] = receiver.wait_for(1, timeout=90, match=lambda r: r.json()["job_id"] == job_id)
            assert signature_is_valid(hook["secret"], call)
            body = call.json()
            assert (body["event"], body["status"]) == ("job.finished", "completed")
            assert (body["title"], body["link"]) == ("Webhook smoke run", f"/jobs/{job_id}")
            delivery = delivered(api, hook["id"], job_id)
            assert delivery["id"] == call.headers["x-runwright-delivery"] == body["delivery_id"]
            assert (delivery["event"], delivery["attempt"]) == ("job.finished", 1)
            assert [(a["attempt"], a["response_code"]) for a in delivery["attempts"]] == [(1, 200)]
            assert delivery["event_key"].startswith(f"{job_id}:")
            assert delivery["next_attempt_at"] is None
            deadline = time.monotonic() + 10  # counted just after the attempt is recorded
            while sent_before + 1 > total(
                scrape(approval), "runwright_webhook_deliveries_total", outcome="delivered"
            ):
                assert time.monotonic() < deadline, "the delivery was not counted"
                time.sleep(0.1)
        finally:
            assert api.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert hook["id"] not in [h["id"] for h in api.get("/api/v1/webhooks").json()["items"]]
    assert api.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    assert api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").status_code == 404


def test_a_slack_webhook_hears_in_one_line_that_a_job_failed(
    api: httpx.Client, demo_url: str
) -> None:
    with Receiver() as receiver:
        hook = register(api, url=receiver.url("/slack"), events=["job.finished"], format="slack")
        try:
            job_id = run_job(
                api,
                demo_url,
                [
                    {"action": {"type": "navigate", "url": f"{demo_url}/login"}},
                    {
                        "action": {
                            "type": "click",
                            "selector": {"tagName": "button", "id": "no-such-button"},
                        }
                    },
                ],
                "Click what is not there",
            )
            [call] = receiver.wait_for(
                1, timeout=90, match=lambda r: f"/jobs/{job_id}" in r.json()["text"]
            )
        finally:
            api.delete(f"/api/v1/webhooks/{hook['id']}")
    text = call.json()["text"]
    assert text.startswith(f"Runwright: “Click what is not there” (/jobs/{job_id}) failed")
    assert signature_is_valid(hook["secret"], call)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://hooks.example.com/x"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"events": ["job.finished"]}, "url"),
        ({"url": "https://hooks.example.com/x", "events": ["job.started"]}, "events"),
        ({"url": "https://hooks.example.com/x", "events": []}, "events"),
        ({"url": "https://hooks.example.com/x", "format": "xml"}, "format"),
        ({"url": "https://hooks.example.com/x", "secret": "short"}, "secret"),
        ({"url": "https://hooks.example.com/x", "colour": "blue"}, "colour"),
    ],
)
def test_a_webhook_request_with_a_bad_field_is_rejected_naming_that_field(
    api: httpx.Client, body: dict[str, Any], field: str
) -> None:
    before = len(api.get("/api/v1/webhooks").json()["items"])
    response = api.post("/api/v1/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert len(api.get("/api/v1/webhooks").json()["items"]) == before, "nothing was recorded"


def test_webhooks_need_the_bearer_token_and_unknown_ids_are_not_found(
    api: httpx.Client,
) -> None:
    anonymous = httpx.post(f"{api.base_url}/api/v1/webhooks", json={"url": "https://x.example"})
    assert anonymous.status_code == 401
    assert api.delete("/api/v1/webhooks/not-an-id").status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert api.delete(f"/api/v1/webhooks/{missing}").status_code == 404
    assert api.get(f"/api/v1/webhooks/{missing}/deliveries").status_code == 404
    bad_json = api.post(
        "/api/v1/webhooks", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400


def test_send_test_and_redeliver_reach_the_receiver_signed_and_show_in_the_log(
    api: httpx.Client,
) -> None:
    with Receiver(answers=[500]) as receiver:
        hook = register(api, url=receiver.url(), events=["job.finished"])
        try:
            sent = api.post(f"/api/v1/webhooks/{hook['id']}/test")
            assert sent.status_code == 202, sent.text
            delivery_id = sent.json()["delivery_id"]
            (first,) = receiver.wait_for(1)
            assert first.headers["x-runwright-event"] == "webhook.test"
            assert first.headers["x-runwright-delivery"] == delivery_id
            assert signature_is_valid(hook["secret"], first)
            assert first.json()["event"] == "webhook.test"
            # The receiver answered 500: Redeliver sends the same delivery again, now.
            again = api.post(f"/api/v1/webhooks/{hook['id']}/deliveries/{delivery_id}/redeliver")
            assert again.status_code == 202, again.text
            second = receiver.wait_for(2)[1]
            assert second.headers["x-runwright-delivery"] == delivery_id, "a receiver can drop it"
            deadline = time.monotonic() + 15
            while True:
                (entry,) = [
                    d
                    for d in api.get(f"/api/v1/webhooks/{hook['id']}/deliveries").json()["items"]
                    if d["id"] == delivery_id
                ]
                if entry["status"] == "delivered" or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert entry["status"] == "delivered"
            assert [a["response_code"] for a in entry["attempts"]][:2] == [500, 200]
            missing = f"/api/v1/webhooks/{hook['id']}/deliveries/{hook['id']}/redeliver"
            assert api.post(missing).status_code == 404
        finally:
            api.delete(f"/api/v1/webhooks/{hook['id']}")
    assert api.post(f"/api/v1/webhooks/{hook['id']}/test").status_code == 404


def test_a_webhook_changes_its_events_and_pauses_and_resumes(api: httpx.Client) -> None:
    with Receiver() as receiver:
        hook = register(api, url=receiver.url(), events=["job.finished"])
        try:
            both = api.patch(
                f"/api/v1/webhooks/{hook['id']}",
                json={"events": ["approval.requested", "job.finished"]},
            )
            assert both.status_code == 200, both.text
            assert both.json()["events"] == ["approval.requested", "job.finished"]
            paused = api.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": False})
            assert (paused.json()["active"], paused.json()["events"]) == (
                False,
                both.json()["events"],
            )
            for body in ({"events": []}, {"events": ["job.started"]}, {"colour": 1}):
                wrong = api.patch(f"/api/v1/webhooks/{hook['id']}", json=body)
                assert wrong.status_code in (400, 422), (body, wrong.text)
            assert api.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": True}).json()[
                "active"
            ]
        finally:
            api.delete(f"/api/v1/webhooks/{hook['id']}")
    assert api.patch(f"/api/v1/webhooks/{hook['id']}", json={"active": True}).status_code == 404
