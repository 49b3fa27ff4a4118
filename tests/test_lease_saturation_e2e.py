"""No false alarms: with every core busy, live executors keep their leases (shipped timing).

Busy-loop processes (one per core, and one more) compete at the same priority with two
executors running jobs two at a time each; every job completes, no executor is declared lost,
and how late the renewals went out is printed from the executors' own metrics."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest
from runwright_common.settings import load
from runwright_executor.settings import ExecutorSettings
from runwright_stack.stack import Stack
from support.busy import every_core_busy
from support.runbooks import runbook
from support.sse import read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e

JOBS = 6
STEP_MS = 8000


@pytest.fixture(scope="module")
def two_executors() -> Iterator[Stack]:
    with running_stack(executors=2) as stack:
        yield stack


def renewals(stack: Stack) -> tuple[float, float, float]:
    """Granted renewals across the executors: how many, their summed lateness, and the upper
    bound of the highest histogram bucket any of them reached."""
    count = total = worst = 0.0
    for name, url in stack.metrics_urls.items():
        if not name.startswith("executor"):
            continue
        previous = 0.0
        for line in httpx.get(url, timeout=10).raise_for_status().text.splitlines():
            if line.startswith("runwright_lease_renewal_lateness_seconds_count"):
                count += float(line.split()[1])
            elif line.startswith("runwright_lease_renewal_lateness_seconds_sum"):
                total += float(line.split()[1])
            elif line.startswith("runwright_lease_renewal_lateness_seconds_bucket"):
                bound, seen = line.split('le="')[1].split('"')[0], float(line.split()[1])
                if seen > previous and bound != "+Inf":
                    worst = max(worst, float(bound))
                previous = seen
    return count, total, worst


def executors_lost(stack: Stack) -> float:
    text = httpx.get(stack.metrics_urls["queue"], timeout=10).raise_for_status().text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("runwright_executors_lost_total ")]
    return float(line.split()[1])


def test_no_live_executor_is_declared_lost_with_every_core_busy(
    two_executors: Stack, fixture_url: str
) -> None:
    stack = two_executors
    settings = load(ExecutorSettings, {})
    api = httpx.Client(
        base_url=stack.gateway_url, timeout=60, headers={"Authorization": f"Bearer {stack.token}"}
    )
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/selectors"}},
            {"action": {"type": "wait", "duration": STEP_MS}},
            {"action": {"type": "navigate", "url": "/static"}},
            {"action": {"type": "wait", "duration": STEP_MS}},
        ],
        start_url=f"{fixture_url}/static",
        timeout_ms=STEP_MS + 30000,
    )
    with every_core_busy() as busy:
        ids = [
            api.post("/api/v1/jobs", json={"runbook": document}).json()["id"] for _ in range(JOBS)
        ]
        for job_id in ids:
            while (job := api.get(f"/api/v1/jobs/{job_id}").json())["status"] not in (
                "completed",
                "failed",
                "cancelled",
            ):
                time.sleep(0.5)
    count, total, worst = renewals(stack)
    print(
        f"\n{busy} busy processes on {os.cpu_count()} cores, lease {settings.lease_ms} ms, "
        f"renewal every {settings.lease_renew_ms} ms: {count:.0f} renewals, mean lateness "
        f"{1000 * total / max(count, 1):.1f} ms, worst within {1000 * worst:.0f} ms"
    )
    assert executors_lost(stack) == 0
    for job_id in ids:
        job = api.get(f"/api/v1/jobs/{job_id}").json()
        assert (job["status"], job["reason"]) == ("completed", None), job_id
        events = read_events(api, f"/api/v1/jobs/{job_id}/events")[1]
        assert [e.data["status"] for e in events if e.event == "status"] == [
            "queued",
            "running",
            "completed",
        ]
    assert count >= JOBS * 2 * STEP_MS / settings.lease_renew_ms * 0.5  # renewals did happen
