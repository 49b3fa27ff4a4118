"""``/api/v1/webhooks``: outbound webhook subscriptions and their deliveries.

Writes go to the approval service over NATS (it owns the ``approval`` schema); reads come
straight from its tables. A webhook's secret is shown once, in the answer that created it.
"""

from __future__ import annotations

from typing import Annotated, Any, cast
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import Parameter
from runwright_bus import request as nats_request
from runwright_proto import webhooks
from runwright_proto.api.webhooks import (
    AttemptView,
    CreatedWebhookView,
    DeliveryList,
    DeliveryView,
    Queued,
    WebhookChange,
    WebhookList,
    WebhookRequest,
    WebhookView,
)
from runwright_proto.webhooks import (
    WEBHOOK_EVENTS,
    WEBHOOK_FORMATS,
    CreateWebhook,
    DeleteWebhook,
    Resend,
    Resent,
    UpdateWebhook,
    WebhookCreated,
    WebhookDeleted,
    WebhookEvent,
    WebhookFormat,
    WebhookRejected,
    WebhookUpdated,
)
from runwright_runbook.parse import FieldError

from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.problems import invalid, not_found
from runwright_gateway.responses import problems

MAX_URL_LENGTH = 2048


def webhook_errors(request: WebhookRequest) -> list[FieldError]:
    errors: list[FieldError] = []
    try:
        parts = urlsplit(request.url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme not in ("http", "https") or not host:
        errors.append(FieldError("url", "must be an absolute http or https URL"))
    elif len(request.url) > MAX_URL_LENGTH:
        errors.append(FieldError("url", f"must be at most {MAX_URL_LENGTH} characters"))
    unknown = [e for e in request.events if e not in WEBHOOK_EVENTS]
    if not request.events or unknown:
        errors.append(
            FieldError(
                "events",
                (f"unknown event {unknown[0]!r}; " if unknown else "name at least one event; ")
                + "one or more of "
                + ", ".join(WEBHOOK_EVENTS),
            )
        )
    if request.format not in WEBHOOK_FORMATS:
        errors.append(
            FieldError("format", f"unknown format {request.format!r}; one of json, slack")
        )
    return errors


def _webhook(row: asyncpg.Record) -> WebhookView:
    return WebhookView(
        id=str(row["id"]),
        url=row["url"],
        events=list(row["events"]),
        format=row["format"],
        active=row["active"],
        created_at=row["created_at"],
    )


async def list_deliveries(
    pool: asyncpg.Pool, webhook_id: UUID, limit: int, job_id: UUID | None
) -> list[DeliveryView]:
    rows = await pool.fetch(
        "SELECT id, event, event_key, job_id, status, attempt, response_code, error, created_at, "
        "delivered_at, next_attempt_at FROM approval.deliveries "
        "WHERE webhook_id = $1 AND ($2::uuid IS NULL OR job_id = $2) "
        "ORDER BY created_at DESC, id DESC LIMIT $3",
        webhook_id,
        job_id,
        limit,
    )
    attempts: dict[UUID, list[AttemptView]] = {row["id"]: [] for row in rows}
    for a in await pool.fetch(
        "SELECT delivery_id, attempt, at, response_code, error, duration_ms "
        "FROM approval.delivery_attempts WHERE delivery_id = ANY($1::uuid[]) "
        "ORDER BY delivery_id, attempt",
        list(attempts),
    ):
        values = {k: a[k] for k in ("attempt", "at", "response_code", "error", "duration_ms")}
        attempts[a["delivery_id"]].append(AttemptView(**values))
    return [
        DeliveryView(
            id=str(row["id"]),
            event=row["event"],
            event_key=row["event_key"],
            job_id=str(row["job_id"]),
            status=row["status"],
            attempt=row["attempt"],
            response_code=row["response_code"],
            error=row["error"],
            created_at=row["created_at"],
            delivered_at=row["delivered_at"],
            next_attempt_at=(
                row["next_attempt_at"] if row["status"] in ("pending", "failed") else None
            ),
            attempts=attempts[row["id"]],
        )
        for row in rows
    ]


class WebhooksController(Controller):
    path = "/api/v1/webhooks"
    guards = [authorize]
    security = SECURITY

    @post("/", status_code=201, responses=problems(400))
    async def create(
        self, request: Request[Any, Any, Any], data: WebhookRequest
    ) -> Response[CreatedWebhookView]:
        """Subscribe a URL to ``job.finished`` and/or ``approval.requested``; the secret is
        returned only in this answer."""
        if errors := webhook_errors(data):
            raise invalid(errors)
        state, who = request.app.state, principal(request)
        command = CreateWebhook(
            url=data.url,
            events=cast(list[WebhookEvent], data.events),  # checked by webhook_errors
            format=cast(WebhookFormat, data.format),
            secret=data.secret,
            created_by=who.actor,
            workspace=who.workspace,
        )
        reply: WebhookCreated | WebhookRejected = await nats_request(
            state.nc,
            webhooks.CREATE,
            command,
            WebhookCreated | WebhookRejected,
            timeout=state.settings.request_timeout_s,
        )
        if isinstance(reply, WebhookRejected):
            raise invalid([FieldError(reply.field, reply.message)])
        view = CreatedWebhookView(
            id=reply.id,
            url=reply.url,
            events=list(reply.events),
            format=reply.format,
            active=reply.active,
            created_at=reply.created_at,
            secret=reply.secret,
        )
        return Response(view, status_code=201, headers={"Location": f"{self.path}/{reply.id}"})

    @get("/", responses=problems())
    async def list_webhooks(self, request: Request[Any, Any, Any]) -> WebhookList:
        """Every subscription, newest first (without secrets)."""
        rows = await request.app.state.pool.fetch(
            "SELECT id, url, events, format, active, created_at FROM approval.webhooks "
            "WHERE workspace = $1 ORDER BY created_at DESC, id DESC",
            principal(request).workspace,
        )
        return WebhookList(items=[_webhook(row) for row in rows])

    @delete("/{webhook_id:str}", status_code=204, responses=problems(404))
    async def remove(self, request: Request[Any, Any, Any], webhook_id: UUID) -> None:
        """Unsubscribe; its deliveries, sent or pending, go with it."""
        state = request.app.state
        reply: WebhookDeleted = await nats_request(
            state.nc,
            webhooks.DELETE,
            DeleteWebhook(webhook_id=str(webhook_id), workspace=principal(request).workspace),
            WebhookDeleted,
            timeout=state.settings.request_timeout_s,
        )
        if not reply.deleted:
            raise not_found(f"webhook {webhook_id}")

    @patch("/{webhook_id:str}", responses=problems(404))
    async def change(
        self, request: Request[Any, Any, Any], webhook_id: UUID, data: WebhookChange
    ) -> WebhookView:
        """Change the events it receives, or pause it (``active: false``: nothing recorded or
        sent until it is resumed)."""
        if data.events is not None:
            wrong = [e for e in data.events if e not in WEBHOOK_EVENTS]
            if wrong or not data.events:
                detail = f"must be one or more of {', '.join(WEBHOOK_EVENTS)}"
                raise invalid([FieldError("events", detail)])
        state, who = request.app.state, principal(request)
        reply: WebhookUpdated = await nats_request(
            state.nc,
            webhooks.UPDATE,
            UpdateWebhook(
                webhook_id=str(webhook_id),
                workspace=who.workspace,
                events=cast(list[WebhookEvent] | None, data.events),
                active=data.active,
            ),
            WebhookUpdated,
            timeout=state.settings.request_timeout_s,
        )
        if not reply.updated:
            raise not_found(f"webhook {webhook_id}")
        row = await state.pool.fetchrow(
            "SELECT id, url, events, format, active, created_at FROM approval.webhooks"
            " WHERE id = $1",
            webhook_id,
        )
        return _webhook(row)

    async def _resend(
        self, request: Request[Any, Any, Any], webhook_id: UUID, delivery_id: UUID | None
    ) -> Queued:
        state, who = request.app.state, principal(request)
        reply: Resent = await nats_request(
            state.nc,
            webhooks.RESEND,
            Resend(
                webhook_id=str(webhook_id),
                workspace=who.workspace,
                delivery_id=str(delivery_id) if delivery_id else None,
                actor=who.actor,
            ),
            Resent,
            timeout=state.settings.request_timeout_s,
        )
        if reply.delivery_id is None:
            raise not_found(f"delivery {delivery_id}" if delivery_id else f"webhook {webhook_id}")
        return Queued(delivery_id=reply.delivery_id)

    @post("/{webhook_id:str}/test", status_code=202, responses=problems(404))
    async def send_test(self, request: Request[Any, Any, Any], webhook_id: UUID) -> Queued:
        """Send a test notice (``X-Runwright-Event: webhook.test``, signed like any notice); its
        delivery shows in the log with the receiver's answer."""
        return await self._resend(request, webhook_id, None)

    @post(
        "/{webhook_id:str}/deliveries/{delivery_id:str}/redeliver",
        status_code=202,
        responses=problems(404),
    )
    async def redeliver(
        self, request: Request[Any, Any, Any], webhook_id: UUID, delivery_id: UUID
    ) -> Queued:
        """Send a delivery again, whatever its state (the same delivery id: a receiver that
        drops repeats drops it); a new attempt in its log."""
        return await self._resend(request, webhook_id, delivery_id)

    @get("/{webhook_id:str}/deliveries", responses=problems(404))
    async def deliveries(
        self,
        request: Request[Any, Any, Any],
        webhook_id: UUID,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        job_id: UUID | None = None,
    ) -> DeliveryList:
        """Newest first, each with every attempt (time, response code or error, duration)."""
        pool = request.app.state.pool
        if not await pool.fetchval(
            "SELECT 1 FROM approval.webhooks WHERE id = $1 AND workspace = $2",
            webhook_id,
            principal(request).workspace,
        ):
            raise not_found(f"webhook {webhook_id}")
        return DeliveryList(items=await list_deliveries(pool, webhook_id, limit, job_id))
