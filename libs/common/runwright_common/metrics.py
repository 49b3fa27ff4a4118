"""Prometheus metrics: the names of ``docs/metrics.md``, one registry per process, cheap helpers.

Every metric is defined here, unregistered; a service registers the groups it emits
(:data:`SERVICE_GROUPS`) when it starts (:func:`configure`), so its ``/metrics`` lists exactly
its own. Code records through the small helpers below, which do nothing while metrics are off
(``RUNWRIGHT_METRICS=0``). Gauges read from a database or the broker are refreshed when
``/metrics`` is scraped (:func:`on_scrape`), at most every few seconds, never in the hot path.

Labels are bounded: workspace, status, action, outcome, route template. Never a job id.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.registry import Collector

from runwright_common.logging import get_logger

log = get_logger("runwright.metrics")

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
"""Requests, handlers and steps: milliseconds to half a minute."""
LONG_SECONDS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
"""Jobs, queue waits and approval waits: a second to a day."""
STEP_STATUS = {"success": "passed", "failed": "failed", "skipped": "skipped"}

BUILD_INFO = Gauge(
    "runwright_build_info",
    "1, labelled with the service and its version",
    ["service", "version"],
    registry=None,
)
HTTP_REQUESTS = Counter(
    "runwright_http_requests_total",
    "HTTP requests answered by the gateway (an event stream counts when it opens)",
    ["method", "route", "status"],
    registry=None,
)
HTTP_DURATION = Histogram(
    "runwright_http_request_duration_seconds",
    "Time to answer an HTTP request (event streams are not timed)",
    ["method", "route"],
    buckets=SECONDS,
    registry=None,
)
BUS_MESSAGES = Counter(
    "runwright_bus_messages_total",
    "JetStream messages handled, by how they were answered",
    ["service", "consumer", "outcome"],
    registry=None,
)
BUS_DURATION = Histogram(
    "runwright_bus_handler_duration_seconds",
    "Time a consumer's handler took for one message",
    ["service", "consumer"],
    buckets=SECONDS,
    registry=None,
)
JOBS_SUBMITTED = Counter(
    "runwright_jobs_submitted_total", "Jobs recorded", ["workspace"], registry=None
)
JOBS_FINISHED = Counter(
    "runwright_jobs_finished_total",
    "Jobs that reached a terminal status",
    ["workspace", "status"],
    registry=None,
)
JOB_DURATION = Histogram(
    "runwright_job_duration_seconds",
    "From a job's (last) start to its end, for jobs that started",
    ["workspace", "status"],
    buckets=LONG_SECONDS,
    registry=None,
)
JOB_QUEUE_WAIT = Histogram(
    "runwright_job_queue_wait_seconds",
    "From a job's submission (or its run time, when scheduled) to its first start",
    ["workspace"],
    buckets=LONG_SECONDS,
    registry=None,
)
JOBS = Gauge("runwright_jobs", "Jobs now, by status", ["workspace", "status"], registry=None)
OLDEST_QUEUED = Gauge(
    "runwright_job_oldest_queued_seconds", "Age of the oldest queued job (0: none)", registry=None
)
EXECUTORS_LOST = Counter(
    "runwright_executors_lost_total",
    "Jobs whose executor was lost (lease expired, or handed back when it stopped)",
    registry=None,
)
LEASE_RENEWALS = Counter(
    "runwright_lease_renewals_total",
    "Lease renewal requests answered: one job each (per_job) or many (batch)",
    ["kind"],
    registry=None,
)
LEASES_RENEWED = Counter(
    "runwright_leases_renewed_total",
    "Job leases extended by renewals, whichever kind of request named them",
    registry=None,
)
DISPATCH_PENDING = Gauge(
    "runwright_dispatch_pending", "Dispatch messages no executor has pulled yet", registry=None
)
DISPATCH_ACK_PENDING = Gauge(
    "runwright_dispatch_ack_pending",
    "Dispatch messages pulled by an executor and not yet acknowledged",
    registry=None,
)
STEP_DURATION = Histogram(
    "runwright_step_duration_seconds",
    "Time a runbook step took in the browser",
    ["action", "outcome"],
    buckets=SECONDS,
    registry=None,
)
SELECTOR_RETRIES = Counter(
    "runwright_selector_retries_total",
    "Retries steps needed before their element was found (or they gave up)",
    ["action"],
    registry=None,
)
LEASE_RENEWAL_LATENESS = Histogram(
    "runwright_lease_renewal_lateness_seconds",
    "How late each granted lease renewal was sent (its due time to its request)",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=None,
)
EXECUTOR_SLOTS = Gauge("runwright_executor_slots", "Job slots", ["state"], registry=None)
BROWSER_CONTEXTS = Gauge(
    "runwright_browser_contexts_open", "Browser contexts open (jobs' and spares)", registry=None
)
EGRESS_BLOCKED = Counter(
    "runwright_egress_blocked_total",
    "Browser connections the egress policy refused",
    ["workspace"],
    registry=None,
)
OUTBOX_BACKLOG = Gauge(
    "runwright_outbox_backlog", "Outbox rows not yet published", ["service", "table"], registry=None
)
OUTBOX_OLDEST = Gauge(
    "runwright_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row (0: none)",
    ["service", "table"],
    registry=None,
)
SSE_CLIENTS = Gauge(
    "runwright_sse_clients", "Event-stream clients connected", ["stream"], registry=None
)
WEBHOOK_DELIVERIES = Counter(
    "runwright_webhook_deliveries_total",
    "Webhook delivery attempts, by outcome",
    ["outcome"],
    registry=None,
)
APPROVAL_WAIT = Histogram(
    "runwright_approval_wait_seconds",
    "From an approval's request to its close",
    ["workspace", "outcome"],
    buckets=LONG_SECONDS,
    registry=None,
)
APPROVALS_WAITING = Gauge(
    "runwright_approvals_waiting", "Approvals open now", ["workspace"], registry=None
)

GROUPS: dict[str, tuple[Collector, ...]] = {
    "build": (BUILD_INFO,),
    "bus": (BUS_MESSAGES, BUS_DURATION),
    "outbox": (OUTBOX_BACKLOG, OUTBOX_OLDEST),
    "http": (HTTP_REQUESTS, HTTP_DURATION, SSE_CLIENTS),
    "queue": (
        JOBS_SUBMITTED,
        JOBS_FINISHED,
        JOB_DURATION,
        JOB_QUEUE_WAIT,
        JOBS,
        OLDEST_QUEUED,
        EXECUTORS_LOST,
        LEASE_RENEWALS,
        LEASES_RENEWED,
        DISPATCH_PENDING,
        DISPATCH_ACK_PENDING,
    ),
    "executor": (
        STEP_DURATION,
        SELECTOR_RETRIES,
        EXECUTOR_SLOTS,
        BROWSER_CONTEXTS,
        EGRESS_BLOCKED,
        LEASE_RENEWAL_LATENESS,
    ),
    "approval": (WEBHOOK_DELIVERIES, APPROVAL_WAIT, APPROVALS_WAITING),
}
SERVICE_GROUPS: dict[str, tuple[str, ...]] = {
    "gateway": ("build", "bus", "http"),
    "queue": ("build", "bus", "outbox", "queue"),
    "executor": ("build", "bus", "executor"),
    "scheduler": ("build",),
    "approval": ("build", "bus", "approval"),
    "artifact": ("build", "bus", "outbox"),
}
"""What each service emits (``docs/metrics.md`` says the same; a test holds them together)."""

Refresh = Callable[[], Awaitable[None]]


@dataclass
class _State:
    enabled: bool = True
    service: str = ""
    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry())
    refreshers: list[tuple[Refresh, float]] = field(default_factory=list)
    refreshed: dict[int, float] = field(default_factory=dict)
    lock: asyncio.Lock | None = None


_state = _State()


def registry_for(service: str) -> CollectorRegistry:
    """A registry holding exactly what ``service`` emits."""
    registry = CollectorRegistry()
    for group in SERVICE_GROUPS[service]:
        for collector in GROUPS[group]:
            registry.register(collector)
    return registry


def version(service: str) -> str:
    """The installed version of the service's package (``runwright-<service>``)."""
    for package in (f"runwright-{service}", "runwright-common"):
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "unknown"


def configure(service: str, *, enabled: bool = True) -> None:
    """At start-up: this process is ``service``; ``enabled=False`` turns every helper off."""
    # A ``_created`` series beside every counter and histogram child doubles them for nothing.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    _state.enabled, _state.service = enabled, service
    _state.registry = registry_for(service)
    _state.refreshers.clear()
    if enabled:
        BUILD_INFO.labels(service, version(service)).set(1)


def enabled() -> bool:
    return _state.enabled


def service() -> str:
    return _state.service


def on_scrape(refresh: Refresh, every_s: float = 5.0) -> None:
    """Run ``refresh`` (which sets gauges) before a scrape, at most once every ``every_s``."""
    if _state.enabled:
        _state.refreshers.append((refresh, every_s))


async def exposition() -> bytes:
    """The text format of this process's registry, gauges refreshed first where due."""
    if _state.lock is None:
        _state.lock = asyncio.Lock()
    async with _state.lock:
        now = time.monotonic()
        for refresh, every_s in list(_state.refreshers):
            if now - _state.refreshed.get(id(refresh), -every_s) < every_s:
                continue
            _state.refreshed[id(refresh)] = now
            try:
                await asyncio.wait_for(refresh(), 5)
            except Exception as exc:
                log.warning("metrics not refreshed", refresh=_name(refresh), error=repr(exc))
    return generate_latest(_state.registry)


def _name(refresh: Refresh) -> str:
    return getattr(refresh, "__qualname__", repr(refresh))


# ---- helpers, each a no-op while metrics are off ------------------------------------------


def bus_handled(consumer: str, outcome: str, seconds: float) -> None:
    if _state.enabled:
        BUS_MESSAGES.labels(_state.service, consumer, outcome).inc()
        BUS_DURATION.labels(_state.service, consumer).observe(seconds)


def http_answered(method: str, route: str, status: int, seconds: float | None) -> None:
    """One request; ``seconds`` None for an event stream (counted when it opens, not timed)."""
    if _state.enabled:
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        if seconds is not None:
            HTTP_DURATION.labels(method, route).observe(seconds)


def sse_clients(stream: str, delta: int) -> None:
    if _state.enabled:
        SSE_CLIENTS.labels(stream).inc(delta)


def jobs_submitted(workspaces: Iterable[str]) -> None:
    if _state.enabled:
        for workspace in workspaces:
            JOBS_SUBMITTED.labels(workspace).inc()


def job_finished(workspace: str, status: str, seconds: float | None) -> None:
    if _state.enabled:
        JOBS_FINISHED.labels(workspace, status).inc()
        if seconds is not None:
            JOB_DURATION.labels(workspace, status).observe(max(seconds, 0.0))


def job_started(workspace: str, waited_s: float) -> None:
    if _state.enabled:
        JOB_QUEUE_WAIT.labels(workspace).observe(max(waited_s, 0.0))


def executor_lost() -> None:
    if _state.enabled:
        EXECUTORS_LOST.inc()


def leases_renewed(kind: str, jobs: int) -> None:
    """A renewal request answered (``per_job`` or ``batch``), extending ``jobs`` leases."""
    if _state.enabled:
        LEASE_RENEWALS.labels(kind).inc()
        if jobs:
            LEASES_RENEWED.inc(jobs)


def step_finished(action: str, status: str, duration_ms: int, retries: int) -> None:
    if _state.enabled:
        STEP_DURATION.labels(action, STEP_STATUS.get(status, status)).observe(duration_ms / 1000)
        if retries:
            SELECTOR_RETRIES.labels(action).inc(retries)


def lease_renewed(late_s: float) -> None:
    if _state.enabled:
        LEASE_RENEWAL_LATENESS.observe(max(late_s, 0.0))


def executor_slots(busy: Callable[[], int], total: int) -> None:
    """Slots read at scrape time: ``busy()`` now, the rest free."""
    if _state.enabled:
        EXECUTOR_SLOTS.labels("busy").set_function(lambda: busy())
        EXECUTOR_SLOTS.labels("free").set_function(lambda: total - busy())


def browser_contexts(delta: int) -> None:
    if _state.enabled:
        BROWSER_CONTEXTS.inc(delta)


def egress_blocked(workspace: str) -> None:
    if _state.enabled:
        EGRESS_BLOCKED.labels(workspace).inc()


def outbox_measured(table: str, backlog: int, oldest_s: float) -> None:
    OUTBOX_BACKLOG.labels(_state.service, table).set(backlog)
    OUTBOX_OLDEST.labels(_state.service, table).set(max(oldest_s, 0.0))


def webhook_delivery(outcome: str) -> None:
    if _state.enabled:
        WEBHOOK_DELIVERIES.labels(outcome).inc()


def approval_closed(workspace: str, outcome: str, waited_s: float) -> None:
    if _state.enabled:
        APPROVAL_WAIT.labels(workspace, outcome).observe(max(waited_s, 0.0))


def set_by_label(gauge: Gauge, values: dict[tuple[str, ...], float]) -> None:
    """Replace every child of a labelled gauge at once (labels no longer seen drop out)."""
    gauge.clear()
    for labels, value in values.items():
        gauge.labels(*labels).set(value)
