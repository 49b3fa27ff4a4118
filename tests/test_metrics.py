"""Metrics without the stack: the health server's ``/metrics`` beside ``/healthz`` and
``/readyz``, the switch that turns metrics off, and the contract of docs/metrics.md (each service
emits exactly the metrics the page lists for it, so dashboards and alerts stay true)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from runwright_common import metrics
from runwright_common.health import serve_http_health
from runwright_stack.ports import free_port

DOCS = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
ROW = re.compile(r"^\|\s*`(runwright_[a-z_]+)`\s*\|\s*(\w+)\s*\|([^|]*)\|([^|]+)\|")


def documented() -> dict[str, tuple[str, set[str], set[str]]]:
    """metric → (type, labels, services), from the page's table."""
    found = {}
    for line in DOCS.read_text().splitlines():
        if match := ROW.match(line):
            name, kind, labels, services = match.groups()
            found[name] = (
                kind,
                {label.strip() for label in labels.split(",") if label.strip()},
                {service.strip() for service in services.split(",")},
            )
    return found


async def ready() -> dict[str, str]:
    return {"nats": "ok"}


@pytest_asyncio.fixture
async def health() -> AsyncIterator[str]:
    port = free_port()
    server = await serve_http_health(port, ready, host="127.0.0.1")
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()
    metrics.configure("queue")


def test_the_page_lists_every_metric_of_the_contract() -> None:
    table = documented()
    assert len(table) == 28
    assert table["runwright_jobs_finished_total"] == ("counter", {"workspace", "status"}, {"queue"})
    assert all(name.startswith("runwright_") for name in table)


@pytest.mark.parametrize("service", sorted(metrics.SERVICE_GROUPS))
def test_each_service_emits_exactly_what_the_page_says(service: str) -> None:
    registry = metrics.registry_for(service)
    emitted = {m.name: m for m in registry.collect()}
    table = documented()
    wanted = {name for name, (_, _, services) in table.items() if service in services}
    # prometheus-client names a counter's family without its _total.
    names = {name + ("_total" if m.type == "counter" else "") for name, m in emitted.items()}
    assert names == wanted
    for name in wanted:
        kind, labels, _ = table[name]
        collector = registry._names_to_collectors[name]
        assert emitted[name.removesuffix("_total")].type == kind
        assert set(getattr(collector, "_labelnames", ())) == labels, name


async def test_metrics_are_served_beside_the_probes_in_the_text_format(health: str) -> None:
    metrics.configure("queue")
    # The metrics are the process's own: other tests in this process (the queue's code run in
    # it) may have counted jobs of other workspaces; this one's is new.
    workspace = f"acme-{uuid.uuid4().hex[:8]}"
    metrics.job_finished(workspace, "completed", 3.0)
    async with httpx.AsyncClient(base_url=health) as http:
        scraped = await http.get("/metrics")
        alive, readiness = await http.get("/healthz"), await http.get("/readyz")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(scraped.text)}
    info = families["runwright_build_info"].samples[0]
    assert info.labels["service"] == "queue"
    assert info.labels["version"]
    assert info.value == 1
    finished = families["runwright_jobs_finished"].samples
    assert [(s.labels, s.value) for s in finished if s.labels["workspace"] == workspace] == [
        ({"workspace": workspace, "status": "completed"}, 1.0)
    ]
    assert "runwright_http_requests_total" not in scraped.text  # the gateway's, not the queue's
    assert (alive.status_code, alive.json()) == (200, {"alive": True})
    assert readiness.json() == {"ready": True, "checks": {"nats": "ok"}}


async def test_gauges_read_at_scrape_are_refreshed_at_most_every_interval(health: str) -> None:
    metrics.configure("queue")
    reads: list[int] = []

    async def count_jobs() -> None:
        reads.append(1)
        metrics.JOBS.labels("acme", "queued").set(len(reads))

    metrics.on_scrape(count_jobs, every_s=3600)
    async with httpx.AsyncClient(base_url=health) as http:
        first, second = (await http.get("/metrics")).text, (await http.get("/metrics")).text
    assert len(reads) == 1
    assert 'runwright_jobs{status="queued",workspace="acme"} 1.0' in first
    assert 'runwright_jobs{status="queued",workspace="acme"} 1.0' in second


async def test_metrics_switched_off_record_nothing_and_are_not_served(health: str) -> None:
    metrics.configure("queue", enabled=False)
    before = metrics.JOBS_SUBMITTED.labels("switched-off")._value.get()
    metrics.jobs_submitted(["switched-off"])
    after = metrics.JOBS_SUBMITTED.labels("switched-off")._value.get()
    async with httpx.AsyncClient(base_url=health) as http:
        scraped = await http.get("/metrics")
        readiness = await http.get("/readyz")
    assert after == before
    assert scraped.status_code == 404
    assert "RUNWRIGHT_METRICS" in scraped.text
    assert readiness.status_code == 200
