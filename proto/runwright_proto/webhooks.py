"""Outbound webhooks: subscriptions (gateway to approval), the consumer that feeds them, and the
bodies receivers get.

Receivers verify ``X-Runwright-Signature: sha256=<hex>``, the HMAC-SHA256 of
``<X-Runwright-Timestamp>.<raw body>`` keyed with the webhook's secret, and deduplicate on
``X-Runwright-Delivery`` (a delivery may arrive more than once; it never changes).
"""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct

from runwright_proto import subjects
from runwright_proto.commands import AwareDatetime
from runwright_proto.jobs import JobStatus
from runwright_proto.streams import ConsumerSpec

WebhookEvent = Literal["approval.requested", "job.finished"]
WEBHOOK_EVENTS: tuple[str, ...] = ("approval.requested", "job.finished")
WebhookFormat = Literal["json", "slack"]
WEBHOOK_FORMATS: tuple[str, ...] = ("json", "slack")
DeliveryStatus = Literal["pending", "delivered", "failed", "gave_up"]

CREATE = "runwright.approval.webhooks.create"
"""Request/reply, gateway to approval: add a subscription (``CreateWebhook``)."""

DELETE = "runwright.approval.webhooks.delete"
"""Request/reply, gateway to approval: remove a subscription and its deliveries."""

UPDATE = "runwright.approval.webhooks.update"
"""Request/reply, gateway to approval: change a subscription's events or pause it."""

RESEND = "runwright.approval.webhooks.resend"
"""Request/reply, gateway to approval: send a test notice, or a delivery again (``Resend``)."""

SIGNATURE_HEADER = "X-Runwright-Signature"
TIMESTAMP_HEADER = "X-Runwright-Timestamp"
DELIVERY_HEADER = "X-Runwright-Delivery"
EVENT_HEADER = "X-Runwright-Event"

APPROVAL_NOTIFY = ConsumerSpec(
    stream="EVENTS",
    durable="approval-notify",
    filter_subject=subjects.EVENTS,
    ack_wait_s=30,
    max_deliver=60,
    max_ack_pending=1000,
    description="The approval service turns job events into webhook deliveries (created with "
    "deliver policy `new`: only events after its creation). Recording is quick; a database "
    "outage naks with a 5 s delay, so about five minutes of outage lose nothing.",
)


class _Message(Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class CreateWebhook(_Message, tag="webhook.create", frozen=True):
    """``secret`` None: the approval service generates one (it is shown once, in the reply)."""

    url: str
    events: list[WebhookEvent]
    format: WebhookFormat = "json"
    secret: str | None = None
    created_by: str = "admin"
    workspace: str = "default"
    """The workspace the webhook belongs to: it hears only that workspace's jobs."""


class WebhookCreated(_Message, tag="webhook.created", frozen=True):
    id: str
    url: str
    events: list[WebhookEvent]
    format: WebhookFormat
    secret: str
    active: bool
    created_at: AwareDatetime


class WebhookRejected(_Message, tag="webhook.rejected", frozen=True):
    """The subscription was not recorded; ``field`` names the request field at fault."""

    field: str
    message: str


class DeleteWebhook(_Message, tag="webhook.delete", frozen=True):
    webhook_id: str
    workspace: str = "default"
    """Only a webhook of this workspace is deleted; another's answers ``deleted=False``."""


class UpdateWebhook(_Message, tag="webhook.update", frozen=True):
    """``None`` leaves a field as it is. A paused webhook (``active`` false) records nothing
    and sends nothing until resumed."""

    webhook_id: str
    workspace: str = "default"
    events: list[WebhookEvent] | None = None
    active: bool | None = None


class WebhookUpdated(_Message, tag="webhook.updated", frozen=True):
    """``updated`` is False when no such webhook exists in the workspace (a 404)."""

    updated: bool


class Resend(_Message, tag="webhook.resend", frozen=True):
    """``delivery_id`` None: a test notice (``webhook.test``) to the webhook now; else that
    delivery again, as a new attempt, whatever its state."""

    webhook_id: str
    workspace: str = "default"
    delivery_id: str | None = None
    actor: str = "admin"


class Resent(_Message, tag="webhook.resent", frozen=True):
    """``delivery_id`` None: no such webhook or delivery in the workspace (a 404)."""

    delivery_id: str | None


class WebhookDeleted(_Message, tag="webhook.deleted", frozen=True):
    """``deleted`` is False when no such webhook existed (a 404)."""

    deleted: bool


class _Notice(Struct, frozen=True, kw_only=True, tag_field="event"):
    delivery_id: str
    job_id: str
    title: str | None = None
    at: AwareDatetime
    link: str
    """The job's page, ``/jobs/<id>``, absolute when the approval service knows the public URL."""


class JobFinishedNotice(_Notice, tag="job.finished", frozen=True):
    status: JobStatus
    previous: JobStatus | None = None
    reason: str | None = None
    actor: str | None = None
    """Who ended it: the person or key that cancelled it, or ``executor:<id>`` for a run."""


class ApprovalNotice(Struct, frozen=True, kw_only=True):
    approval_id: str
    ordinal: int
    description: str = ""
    risk_level: str = "low"
    deadline: AwareDatetime | None = None


class ApprovalRequestedNotice(_Notice, tag="approval.requested", frozen=True):
    approval: ApprovalNotice


Notice = JobFinishedNotice | ApprovalRequestedNotice


class TestNotice(Struct, frozen=True, kw_only=True, tag_field="event", tag="webhook.test"):
    """What "Send test" delivers: signed like any notice, about no job."""

    delivery_id: str
    at: AwareDatetime
    actor: str
    text: str = "A test notice from Runwright: this webhook receives its notices."


SLACK_APPROVE = "runwright_approve"
SLACK_REJECT = "runwright_reject"
"""The ``action_id`` of the Approve and Reject buttons on an ``approval.requested`` Slack message;
each button's ``value`` is ``<job_id>:<ordinal>``. Slack posts the click to the gateway's
``POST /api/v1/integrations/slack/interactions``."""


class SlackMessage(Struct, frozen=True, omit_defaults=True):
    """The body of a Slack incoming-webhook call: ``text`` (also the notification's fallback) and,
    for approval requests, Block Kit ``blocks`` with Approve and Reject buttons."""

    text: str
    blocks: list[dict[str, Any]] | None = None
