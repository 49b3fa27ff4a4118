"""The audit log's second source: status changes a service made by itself. A person's or a key's
change is recorded by :class:`~runwright_gateway.audit.AuditMiddleware` around their request;
a schedule's submission, a run time reached, an approval or a job timing out and an executor lost
have no request, so the gateway reads them from the job's events (its ``gateway-audit`` durable)
and writes one row each, keyed by the event so a redelivery is a no-op.

An executor running its job (started, step by step, finished) is the run itself, already in the
job's events and report; it is not an audit entry."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from functools import partial

import asyncpg
import msgspec
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from runwright_bus import consume_keyed, ensure_topology
from runwright_bus.topology import consumer_config, settled
from runwright_proto import streams

from runwright_gateway.audit import INSERT

SPEC = streams.GATEWAY_AUDIT
PEOPLE = ("user:", "key:", "admin")
"""Actors whose changes their own requests recorded already."""
VERBS = {
    "queued": "job.queue",
    "scheduled": "job.schedule",
    "running": "job.resume",
    "paused": "job.pause",
    "waiting_for_approval": "job.hold",
    "completed": "job.complete",
    "failed": "job.fail",
    "cancelled": "job.cancel",
}


class Seen(msgspec.Struct, frozen=True, kw_only=True):
    """What the audit needs of a job event (its other fields are ignored)."""

    type: str
    job_id: str
    workspace: str = "default"
    seq: int
    at: datetime
    status: str | None = None
    previous: str | None = None
    reason: str | None = None
    actor: str | None = None


def by_a_service(event: Seen) -> bool:
    actor = event.actor
    return (
        event.type == "status"
        and actor is not None
        and not actor.startswith(PEOPLE)
        and not actor.startswith("executor")
    )


def action_of(event: Seen) -> str:
    if event.previous is None:
        return "job.create"
    return VERBS.get(event.status or "", f"job.{event.status}")


async def record(pool: asyncpg.Pool, event: Seen) -> None:
    """One row for ``event`` if a service made it; again for the same event: nothing."""
    if not by_a_service(event):
        return
    detail = {"status": event.status, "previous": event.previous, "via": "job events"}
    if event.reason:
        detail["reason"] = event.reason[:200]
    await pool.execute(
        INSERT + " ON CONFLICT (request_id) WHERE request_id LIKE 'event:%' DO NOTHING",
        event.at,
        event.workspace,
        event.actor,
        action_of(event),
        event.job_id,
        "ok",
        0,
        None,
        f"event:{event.job_id}:{event.seq}",
        detail,
    )


async def ensure_consumer(js: JetStreamContext) -> None:
    """The ``gateway-audit`` durable, created to deliver only events published after it (every
    gateway replica shares it, so each event is recorded by one)."""
    await ensure_topology(js, [streams.EVENTS])
    config = dataclasses.replace(consumer_config(SPEC), deliver_policy=DeliverPolicy.NEW)
    await settled(partial(js.add_consumer, SPEC.stream, config))


async def run(js: JetStreamContext, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
    async def handle(event: Seen, _: Msg) -> None:
        await record(pool, event)

    await consume_keyed(js, SPEC, Seen, handle, stop, relevant=by_a_service)
