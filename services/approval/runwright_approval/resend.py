"""Sending again on request: a test notice to a webhook ("Send test"), or one of its deliveries
again ("Redeliver": the same delivery id, so a receiver that dedupes drops a repeat; a new
attempt, whatever the delivery's state). Both only within the webhook's workspace."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import asyncpg
import msgspec
from runwright_common.logging import get_logger
from runwright_proto.webhooks import Resend, Resent, SlackMessage, TestNotice

log = get_logger("runwright.approval.resend")
NO_JOB = uuid.UUID(int=0)


def test_body(fmt: str, notice: TestNotice) -> bytes:
    if fmt == "slack":
        return msgspec.json.encode(SlackMessage(f"{notice.text} (sent by {notice.actor})"))
    return msgspec.json.encode(notice)


async def resend(pool: asyncpg.Pool, cmd: Resend, kick: Callable[[], None]) -> Resent:
    try:
        webhook_id = uuid.UUID(cmd.webhook_id)
        delivery = uuid.UUID(cmd.delivery_id) if cmd.delivery_id else None
    except ValueError:
        return Resent(delivery_id=None)
    hook = await pool.fetchrow(
        "SELECT id, format FROM approval.webhooks WHERE id = $1 AND workspace = $2",
        webhook_id,
        cmd.workspace,
    )
    if hook is None:
        return Resent(delivery_id=None)
    if delivery is None:
        delivery = uuid.uuid4()
        notice = TestNotice(delivery_id=str(delivery), at=datetime.now(UTC), actor=cmd.actor)
        await pool.execute(
            "INSERT INTO approval.deliveries (id, webhook_id, event_key, event, job_id, body)"
            " VALUES ($1, $2, $3, 'webhook.test', $4, $5)",
            delivery,
            webhook_id,
            f"test:{delivery}",
            NO_JOB,
            test_body(hook["format"], notice).decode(),
        )
    else:
        again = await pool.fetchval(
            "UPDATE approval.deliveries SET status = 'pending', next_attempt_at = now()"
            " WHERE id = $1 AND webhook_id = $2 RETURNING id",
            delivery,
            webhook_id,
        )
        if again is None:
            return Resent(delivery_id=None)
    log.info("delivery sent again", webhook_id=cmd.webhook_id, test=cmd.delivery_id is None)
    kick()
    return Resent(delivery_id=str(delivery))
