"""The queue service's lifespan: migrate, answer requests, apply reports, relay, reap.

What it answers and consumes is declared in two tables (``requests`` and ``consumers``); the
start-up code only walks them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
from runwright_bus import consume_keyed, encode, ensure_topology, serve
from runwright_bus.service import ServiceContext, service
from runwright_common import metrics
from runwright_common.logging import get_logger
from runwright_common.settings import load
from runwright_db import OutboxRelay, create_pool, prepare_schema, retention
from runwright_db.outbox import Carrier
from runwright_proto import streams, subjects
from runwright_proto.artifacts import ArtifactStored
from runwright_proto.commands import (
    ClaimJob,
    RenewLease,
    RenewLeases,
    SetWorkspaceLimits,
    SubmitBatch,
    SubmitJob,
    SubmitReply,
)
from runwright_proto.control import Control, JobAction, JobState
from runwright_proto.reports import Report
from runwright_proto.streams import ConsumerSpec

from runwright_queue import (
    artifacts,
    claims,
    control,
    job_metrics,
    leases,
    limits,
    pruning,
    reaper,
    reports,
    submission,
    timers,
    vault,
)
from runwright_queue.grouping import Grouped
from runwright_queue.sealing import Keyring
from runwright_queue.settings import QueueSettings, keyring

log = get_logger("runwright.queue")
Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Wiring:
    """What the handlers need besides their message: the pool, the settings, the secrets keys,
    a notifier."""

    pool: asyncpg.Pool
    settings: QueueSettings
    keys: Keyring
    notify: Callable[[Control], Awaitable[None]]


def requests(w: Wiring) -> list[tuple[str, type, Handler]]:
    """Request/reply subjects the queue answers: (subject, request type, handler)."""
    s = w.settings
    # Each submission keeps its own request's trace context, whichever group it is written in.
    submits: Grouped[tuple[SubmitJob, Carrier], SubmitReply] = Grouped(
        lambda group: submission.submit_many(
            w.pool,
            [cmd for cmd, _ in group],
            s.max_queued,
            keys=w.keys,
            traces={cmd.job_id: trace for cmd, trace in group},
        )
    )
    return [
        (subjects.SUBMIT, SubmitJob, lambda c: submits((c, submission.job_trace(c)))),
        (
            subjects.SUBMIT_BATCH,
            SubmitBatch,
            lambda c: submission.submit_batch(w.pool, c, s.max_queued, keys=w.keys),
        ),
        (
            subjects.CLAIM,
            ClaimJob,
            lambda c: claims.claim(w.pool, c, s.workspace_concurrency, keys=w.keys),
        ),
        (subjects.RENEW, RenewLease, lambda c: claims.renew(w.pool, c)),
        (subjects.RENEW_LEASES, RenewLeases, lambda c: leases.renew_many(w.pool, c)),
        (subjects.WORKSPACE_LIMITS, SetWorkspaceLimits, lambda c: limits.set_limits(w.pool, c)),
        (subjects.ACTION, JobAction, lambda c: control.act(w.pool, w.notify, c)),
        (subjects.STATE, JobState, lambda c: control.job_state(w.pool, c)),
    ]


def consumers(w: Wiring) -> list[tuple[ConsumerSpec, Any, Handler]]:
    """Durable consumers the queue applies in per-job order: (consumer, message type, handler)."""
    s = w.settings
    return [
        (
            streams.QUEUE_REPORTS,
            Report,
            lambda r, m: reports.apply_report(
                w.pool, r, m, max_requeues=s.max_requeues, keys=w.keys
            ),
        ),
        (
            streams.QUEUE_ARTIFACTS,
            ArtifactStored,
            lambda a, m: artifacts.record_artifact(w.pool, a, m),
        ),
    ]


def kicking(relay: OutboxRelay, handler: Handler) -> Handler:
    """Run ``handler``, then wake the outbox relay so its events go out at once."""

    async def wrapped(*args: Any) -> Any:
        try:
            return await handler(*args)
        finally:
            relay.kick()

    return wrapped


async def expire_approvals_loop(w: Wiring, stop: asyncio.Event, kick: Callable[[], None]) -> None:
    while not stop.is_set():
        try:
            if await control.expire_approvals(w.pool, w.notify):
                kick()
        except Exception as exc:
            log.warning("approval timeouts not checked; trying again", error=repr(exc))
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except TimeoutError:
            continue


def control_notifier(ctx: ServiceContext) -> Callable[[Control], Awaitable[None]]:
    async def notify(message: Control) -> None:
        try:
            await ctx.nc.publish(subjects.control(message.job_id), encode(message))
        except Exception as exc:
            # The executor also polls the job's state every second while it waits.
            log.warning("control message not sent", job_id=message.job_id, error=repr(exc))

    return notify


async def main() -> None:
    settings = load(QueueSettings)
    keys = keyring(settings)
    async with service("queue", settings) as ctx:
        pool = await create_pool(settings.database_url, max_size=10)
        ctx.stack.push_async_callback(pool.close)
        await prepare_schema(pool, "queue", "runwright_queue.migrations", settings.migrate_on_start)
        if sealed := await vault.seal_legacy_rows(pool, keys):
            log.info("sealed run secrets stored before sealing", rows=sealed, key_id=keys.active_id)
        await ensure_topology(
            ctx.js,
            streams.ALL_STREAMS,
            [streams.QUEUE_REPORTS, streams.QUEUE_ARTIFACTS, streams.EXECUTORS],
        )
        relay = OutboxRelay(pool, ctx.js, "queue.outbox")
        metrics.on_scrape(relay.measure)
        metrics.on_scrape(lambda: job_metrics.refresh(pool, ctx.js))

        async def database() -> str:
            await pool.fetchval("SELECT 1")
            return "ok"

        ctx.checks["database"] = database
        wiring = Wiring(pool=pool, settings=settings, keys=keys, notify=control_notifier(ctx))
        for subject, kind, handler in requests(wiring):
            await serve(ctx.nc, subject, kind, kicking(relay, handler))
        for spec, kind, apply in consumers(wiring):
            ctx.spawn(
                consume_keyed(ctx.js, spec, kind, kicking(relay, apply), ctx.stop), spec.durable
            )
        ctx.spawn(expire_approvals_loop(wiring, ctx.stop, relay.kick), "approval-timeouts")
        ctx.spawn(relay.run(ctx.stop), "outbox-relay")
        ctx.spawn(
            reaper.run_reaper(
                pool,
                ctx.stop,
                settings.reaper_interval_s,
                relay.kick,
                settings.max_requeues,
                grace_s=settings.outage_grace_s,
                connected=lambda: ctx.nc.is_connected,
            ),
            "reaper",
        )
        ctx.spawn(
            timers.run_timers(pool, ctx.stop, relay.kick, settings.redispatch_after_s), "timers"
        )
        ctx.spawn(retention.periodic(pool, pruning.prune, ctx.stop), "retention")
        await ctx.serve_until_stopped()
