"""The Litestar application and its lifespan (NATS, Postgres pool, event hub)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar, Router
from litestar.datastructures import State
from litestar.types import ControllerRouterHandler
from runwright_bus import connect
from runwright_common import metrics
from runwright_common.health import serve_http_health
from runwright_common.logging import configure_logging, get_logger
from runwright_common.tracing import configure_tracing, shutdown_tracing
from runwright_db import create_pool, prepare_schema, retention
from runwright_proto.limits import MAX_BODY_BYTES
from runwright_proto.permissions import inbox_prefix
from runwright_storage import FilesystemStore

from runwright_gateway import health, pruning, screening, service_audit, slack_update, telemetry
from runwright_gateway.access_log import AccessLogMiddleware
from runwright_gateway.admin_token import AdminToken
from runwright_gateway.approvals_api import ApprovalController, SlackController
from runwright_gateway.artifacts_api import ArtifactsController
from runwright_gateway.audit import AuditMiddleware, AuditWriter
from runwright_gateway.audit_api import AuditController
from runwright_gateway.batches import BatchesController
from runwright_gateway.console import console_router
from runwright_gateway.docs import SECURITY, docs_router, openapi_config
from runwright_gateway.events_hub import EventHub
from runwright_gateway.http_metrics import HttpMetrics
from runwright_gateway.identity_api import KeysController, WorkspacesController
from runwright_gateway.jobs_api import JobsController
from runwright_gateway.library_api import LibraryController
from runwright_gateway.limits_api import LimitsController
from runwright_gateway.people_api import InvitationsController, MeController, MembersController
from runwright_gateway.problems import HANDLERS
from runwright_gateway.reruns_api import RerunsController
from runwright_gateway.runbooks_api import RunbooksController
from runwright_gateway.schedules_api import SchedulesController
from runwright_gateway.settings import GatewaySettings
from runwright_gateway.webhooks_api import WebhooksController
from runwright_gateway.workspace_events import WorkspaceEventsController
from runwright_gateway.workspace_feed import WorkspaceFeed

ROUTES: list[ControllerRouterHandler] = [
    JobsController,
    RerunsController,
    ApprovalController,
    SlackController,
    BatchesController,
    WebhooksController,
    # The lead's module: its guard is the token; the document names the schemes too.
    Router(path="/", route_handlers=[WorkspaceEventsController], security=SECURITY),
    SchedulesController,
    RunbooksController,
    LibraryController,
    ArtifactsController,
    KeysController,
    WorkspacesController,
    LimitsController,
    MeController,
    MembersController,
    InvitationsController,
    AuditController,
    health.healthz,
    health.readyz,
    console_router,
    docs_router,
]


async def serve_probes(settings: GatewaySettings, state: State) -> asyncio.Server | None:
    """``/healthz``, ``/readyz`` and ``/metrics`` on ``RUNWRIGHT_HEALTH_PORT``, off the public
    port (metrics are never public)."""
    if not settings.health_port:
        return None

    async def readiness() -> dict[str, str]:
        checks = {"nats": "ok" if state.nc.is_connected else "disconnected"}
        try:
            await state.pool.fetchval("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        return checks

    return await serve_http_health(settings.health_port, readiness)


def create_app(settings: GatewaySettings) -> Litestar:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        log = get_logger("runwright.gateway")
        nc = await connect(
            settings.nats_url,
            name=settings.instance or "gateway",
            user=settings.nats_user,
            password=settings.nats_password,
            inbox_prefix=inbox_prefix("gateway"),
        )
        pool = await create_pool(settings.database_url, max_size=20)
        await prepare_schema(
            pool, "gateway", "runwright_gateway.migrations", settings.migrate_on_start
        )
        app.state.audit = AuditWriter(pool)
        await app.state.audit.start()
        hub = EventHub(settings.sse_client_buffer)
        await hub.start(nc)
        feed = WorkspaceFeed(settings.sse_window_events, settings.sse_window_mb << 20)
        await feed.start(nc)
        js, stopping = nc.jetstream(), asyncio.Event()
        await service_audit.ensure_consumer(js)
        auditing = asyncio.create_task(service_audit.run(js, pool, stopping))
        pruner = asyncio.create_task(retention.periodic(pool, pruning.prune, stopping))
        app.state.nc, app.state.pool, app.state.hub, app.state.feed = nc, pool, hub, feed
        app.state.files = FilesystemStore(Path(settings.artifact_dir))
        app.state.http = slack_update.client()
        probes = await serve_probes(settings, app.state)
        log.info("ready", port=settings.gateway_port, health_port=settings.health_port or None)
        try:
            yield
        finally:
            if probes is not None:
                probes.close()
            stopping.set()
            await auditing
            await pruner
            await hub.stop()
            await feed.stop()
            await app.state.http.aclose()
            await app.state.audit.stop()
            await pool.close()
            await nc.drain()
            shutdown_tracing()

    configure_logging("gateway", fmt=settings.log_format, level=settings.log_level)
    configure_tracing("gateway", slow_statement_ms=settings.trace_db_slow_ms)
    metrics.configure("gateway", enabled=settings.metrics)
    return Litestar(
        route_handlers=ROUTES,
        lifespan=[lifespan],
        exception_handlers=HANDLERS,
        before_request=screening.screen,
        middleware=[*telemetry.middleware(), HttpMetrics, AuditMiddleware, AccessLogMiddleware],
        request_max_body_size=MAX_BODY_BYTES,
        logging_config=None,  # the process's logging is structlog's (configure_logging)
        state=State(
            {
                "settings": settings,
                "admin_token": AdminToken(settings.admin_token, settings.admin_token_file),
            }
        ),
        openapi_config=openapi_config(),
    )
