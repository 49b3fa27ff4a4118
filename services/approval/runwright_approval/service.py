"""The approval service's lifespan: migrate its schema, answer webhook requests, turn job events
into webhook deliveries and send them, report readiness, drain on SIGTERM."""

from __future__ import annotations

import dataclasses
from functools import partial
from typing import Any

import httpx
import msgspec
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from runwright_bus import consume_keyed, ensure_topology, serve
from runwright_bus import request as nats_request
from runwright_bus.service import service
from runwright_bus.topology import consumer_config, settled
from runwright_common import metrics
from runwright_common.settings import load
from runwright_db import create_pool, prepare_schema, retention
from runwright_proto import approvals, streams, subjects, webhooks
from runwright_proto.approvals import Decide
from runwright_proto.control import ActionReply, JobAction
from runwright_proto.webhooks import CreateWebhook, DeleteWebhook, Resend, UpdateWebhook

from runwright_approval import decisions, pruning, resend, subscriptions, waiting
from runwright_approval.delivery import Dispatcher, RetryPolicy
from runwright_approval.notify import Notifier
from runwright_approval.settings import ApprovalSettings

USER_AGENT = "Runwright-Webhooks/1"


async def ensure_notify_consumer(js: JetStreamContext) -> None:
    """The ``approval-notify`` durable, created to deliver only events published after it."""
    spec = webhooks.APPROVAL_NOTIFY
    config = dataclasses.replace(consumer_config(spec), deliver_policy=DeliverPolicy.NEW)
    await settled(partial(js.add_consumer, spec.stream, config))


async def main() -> None:
    settings = load(ApprovalSettings)
    async with service("approval", settings) as ctx:
        pool = await create_pool(settings.database_url, max_size=8)
        ctx.stack.push_async_callback(pool.close)
        await prepare_schema(
            pool, "approval", "runwright_approval.migrations", settings.migrate_on_start
        )
        await ensure_topology(ctx.js, streams.ALL_STREAMS)
        await ensure_notify_consumer(ctx.js)
        client = httpx.AsyncClient(
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            limits=httpx.Limits(max_connections=settings.webhook_concurrency),
        )
        ctx.stack.push_async_callback(client.aclose)
        dispatcher = Dispatcher(
            pool,
            client,
            RetryPolicy(
                base_s=settings.webhook_retry_base_s,
                cap_s=settings.webhook_retry_cap_s,
                max_attempts=settings.webhook_max_attempts,
            ),
            timeout_s=settings.webhook_timeout_s,
            concurrency=settings.webhook_concurrency,
            sweep_s=settings.webhook_sweep_s,
            allowed_hosts=settings.webhook_allowed_hosts,
        )
        notifier = Notifier(pool, settings.public_url, dispatcher.kick)

        async def database() -> str:
            await pool.fetchval("SELECT 1")
            return "ok"

        async def create(cmd: CreateWebhook) -> Any:
            return await subscriptions.create_webhook(pool, cmd, settings.webhook_allowed_hosts)

        async def delete(cmd: DeleteWebhook) -> Any:
            return await subscriptions.delete_webhook(pool, cmd)

        async def ask_queue(action: JobAction) -> ActionReply:
            reply: ActionReply = await nats_request(
                ctx.nc, subjects.ACTION, action, ActionReply, timeout=settings.queue_timeout_s
            )
            return reply

        async def decide(cmd: Decide) -> Any:
            return await decisions.decide(pool, ask_queue, cmd)

        ctx.checks["database"] = database
        metrics.on_scrape(lambda: waiting.refresh(pool))
        await serve(ctx.nc, approvals.DECIDE, Decide, decide)
        await serve(ctx.nc, webhooks.CREATE, CreateWebhook, create)
        await serve(ctx.nc, webhooks.DELETE, DeleteWebhook, delete)

        async def send_again(cmd: Resend) -> Any:
            return await resend.resend(pool, cmd, dispatcher.kick)

        await serve(ctx.nc, webhooks.RESEND, Resend, send_again)

        async def update(cmd: UpdateWebhook) -> Any:
            return await subscriptions.update_webhook(pool, cmd)

        await serve(ctx.nc, webhooks.UPDATE, UpdateWebhook, update)
        ctx.spawn(dispatcher.run(ctx.stop), "webhook-dispatcher")
        ctx.spawn(
            consume_keyed(
                ctx.js,
                webhooks.APPROVAL_NOTIFY,
                msgspec.Raw,
                notifier.handle,
                ctx.stop,
                relevant=notifier.relevant,
                span=False,  # its own, where an event records something (see notify)
            ),
            "webhook-notify",
        )
        ctx.spawn(retention.periodic(pool, pruning.prune, ctx.stop), "retention")
        await ctx.serve_until_stopped()
