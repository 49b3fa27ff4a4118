"""The egress policy as `make run` sets it: the demo app is reachable, nothing else local is.

A stack with no allow-list of its own (the embedded default adds only its demo app) runs a job
that signs in to the demo app, and jobs that try to read the gateway next to them, the host's
files and a private address: each of those fails its step naming the destination, nothing of what
they reached for comes back, and the executor counts the blocks.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from runwright_stack.stack import Stack
from support.metrics import scrape, total
from support.runbooks import example, runbook
from support.sse import read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def strict() -> Iterator[Stack]:
    with running_stack(env={"RUNWRIGHT_EGRESS_ALLOW": ""}) as stack:
        yield stack


@pytest.fixture
def api(strict: Stack) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {strict.token}"}
    with httpx.Client(base_url=strict.gateway_url, timeout=30, headers=headers) as client:
        yield client


def run(api: httpx.Client, document: object, variables: dict[str, str] | None = None) -> dict:
    response = api.post("/api/v1/jobs", json={"runbook": document, "variables": variables or {}})
    assert response.status_code == 201, response.text
    job_id = response.json()["id"]
    read_events(api, f"/api/v1/jobs/{job_id}/events")
    done: dict = api.get(f"/api/v1/jobs/{job_id}").json()
    return done


def reading(url: str, start: str) -> dict:
    return runbook(
        [
            {"action": {"type": "navigate", "url": url}},
            {
                "action": {"type": "extract", "script": "document.body.innerText"},
                "captures": [
                    {"name": "text", "strategy": "expression", "expression": "{{__extracted}}"}
                ],
            },
        ],
        start_url=start,
        timeout_ms=5000,
    )


def test_the_demo_app_works_under_the_embedded_policy(api: httpx.Client, strict: Stack) -> None:
    demo = f"http://127.0.0.1:{strict.config.demo_port}"
    done = run(api, example("login.yaml", demo), {"email": "ops@example.com", "password": "demo"})
    assert done["status"] == "completed", done["steps"]


@pytest.mark.parametrize(
    ("target", "named"),
    [
        ("{gateway}/api/v1/jobs", "127.0.0.1:{port}"),
        ("http://localhost:{port}/api/v1/jobs", "localhost:{port} (resolved to 127.0.0.1)"),
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254:80"),
    ],
)
def test_a_job_cannot_reach_what_the_policy_denies(
    api: httpx.Client, strict: Stack, target: str, named: str
) -> None:
    port = strict.config.gateway_port
    demo = f"http://127.0.0.1:{strict.config.demo_port}"
    url = target.format(gateway=strict.gateway_url, port=port)
    done = run(api, reading(url, demo))
    assert done["status"] == "failed"
    assert [s["status"] for s in done["steps"]] == ["failed", "skipped"]
    error = done["steps"][0]["error"]
    assert error["kind"] == "Egress blocked"
    assert named.format(port=port) in error["message"]
    assert "RUNWRIGHT_EGRESS_ALLOW" in error["hint"]
    said = api.get(f"/api/v1/jobs/{done['id']}/report").text
    assert "root:x:0:0" not in said
    assert '"items"' not in said, "nothing of the gateway's answer came back"


def test_the_executor_counts_what_it_blocked(api: httpx.Client, strict: Stack) -> None:
    run(
        api, reading(f"{strict.gateway_url}/healthz", f"http://127.0.0.1:{strict.config.demo_port}")
    )
    health = httpx.get(f"{strict.gateway_url}/readyz", timeout=10).json()
    assert health["services"]["executor"]["counters"]["egress_blocked"] >= 1
    scraped = scrape(strict.metrics_urls["executor-0"])
    assert total(scraped, "runwright_egress_blocked_total", workspace="default") >= 1
