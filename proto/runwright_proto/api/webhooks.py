"""Outbound webhook subscriptions and their deliveries, over HTTP."""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import Struct

from runwright_proto.webhooks import WEBHOOK_EVENTS


class WebhookRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/webhooks``: a URL and the events it receives (all by default)."""

    url: str
    events: list[str] = msgspec.field(default_factory=lambda: list(WEBHOOK_EVENTS))
    format: str = "json"
    """``json`` or ``slack``."""
    secret: str | None = None
    """The signing secret; generated when absent."""


class WebhookChange(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/v1/webhooks/{id}``: its events, or pause (``active: false``) and resume."""

    events: list[str] | None = None
    active: bool | None = None


class WebhookView(Struct, kw_only=True):
    id: str
    url: str
    events: list[str]
    format: str
    active: bool
    created_at: datetime


class CreatedWebhookView(WebhookView, kw_only=True):
    secret: str
    """Shown only here: keep it to verify ``X-Runwright-Signature``."""


class WebhookList(Struct, kw_only=True):
    items: list[WebhookView]


class AttemptView(Struct, kw_only=True):
    attempt: int
    at: datetime
    response_code: int | None
    error: str | None
    duration_ms: int


class DeliveryView(Struct, kw_only=True):
    id: str
    event: str
    event_key: str
    job_id: str
    status: str
    attempt: int
    response_code: int | None
    error: str | None
    created_at: datetime
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    attempts: list[AttemptView]


class Queued(Struct, kw_only=True):
    """``POST …/test`` and ``…/redeliver``: the delivery that will be sent (within a second)."""

    delivery_id: str


class DeliveryList(Struct, kw_only=True):
    items: list[DeliveryView]
