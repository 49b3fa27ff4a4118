"""Webhook subscriptions: the approval service is the only writer of ``approval.webhooks``."""

from __future__ import annotations

import secrets
import uuid

import asyncpg
from runwright_common.logging import get_logger
from runwright_proto.webhooks import (
    CreateWebhook,
    DeleteWebhook,
    UpdateWebhook,
    WebhookCreated,
    WebhookDeleted,
    WebhookRejected,
    WebhookUpdated,
)

from runwright_approval.receivers import url_problem

log = get_logger("runwright.approval.webhooks")
MIN_SECRET_LENGTH = 16


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def rejection(cmd: CreateWebhook, allowed_hosts: list[str]) -> WebhookRejected | None:
    problem = url_problem(cmd.url, allowed_hosts)
    if problem:
        return WebhookRejected(field="url", message=problem)
    if not cmd.events:
        return WebhookRejected(field="events", message="name at least one event")
    if cmd.secret is not None and len(cmd.secret) < MIN_SECRET_LENGTH:
        return WebhookRejected(
            field="secret", message=f"must be at least {MIN_SECRET_LENGTH} characters"
        )
    return None


async def create_webhook(
    pool: asyncpg.Pool, cmd: CreateWebhook, allowed_hosts: list[str]
) -> WebhookCreated | WebhookRejected:
    rejected = rejection(cmd, allowed_hosts)
    if rejected:
        return rejected
    events = sorted(set(cmd.events))
    secret = cmd.secret or new_secret()
    row = await pool.fetchrow(
        "INSERT INTO approval.webhooks (id, url, secret, events, format, created_by, workspace) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, active, created_at",
        uuid.uuid4(),
        cmd.url,
        secret,
        events,
        cmd.format,
        cmd.created_by,
        cmd.workspace,
    )
    assert row is not None
    log.info("webhook created", webhook_id=str(row["id"]), events=events, format=cmd.format)
    return WebhookCreated(
        id=str(row["id"]),
        url=cmd.url,
        events=events,
        format=cmd.format,
        secret=secret,
        active=row["active"],
        created_at=row["created_at"],
    )


async def delete_webhook(pool: asyncpg.Pool, cmd: DeleteWebhook) -> WebhookDeleted:
    """Removes the subscription with its deliveries; pending ones are never sent."""
    try:
        webhook_id = uuid.UUID(cmd.webhook_id)
    except ValueError:
        return WebhookDeleted(deleted=False)
    status = await pool.execute(
        "DELETE FROM approval.webhooks WHERE id = $1 AND workspace = $2", webhook_id, cmd.workspace
    )
    deleted = status == "DELETE 1"
    if deleted:
        log.info("webhook deleted", webhook_id=cmd.webhook_id)
    return WebhookDeleted(deleted=deleted)


async def update_webhook(pool: asyncpg.Pool, cmd: UpdateWebhook) -> WebhookUpdated:
    """Change its events or pause it, only within its workspace."""
    try:
        webhook_id = uuid.UUID(cmd.webhook_id)
    except ValueError:
        return WebhookUpdated(updated=False)
    found = await pool.fetchval(
        "UPDATE approval.webhooks SET events = coalesce($3, events), active = coalesce($4, active)"
        " WHERE id = $1 AND workspace = $2 RETURNING id",
        webhook_id,
        cmd.workspace,
        sorted(set(cmd.events)) if cmd.events is not None else None,
        cmd.active,
    )
    log.info("webhook updated", webhook_id=cmd.webhook_id, found=found is not None)
    return WebhookUpdated(updated=found is not None)
