"""The queue service's lifespan: migrate, answer requests, apply reports, relay, reap."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from runwright_bus import consume_keyed, encode, ensure_topology, serve
from runwright_bus.service import service
from runwright_common.settings import load
from runwright_db import OutboxRelay, create_pool, migrate
from runwright_proto import streams, subjects
from runwright_proto.artifacts import ArtifactStored
from runwright_proto.commands import ClaimJob, RenewLease, SubmitBatch, SubmitJob
from runwright_proto.control import Control, JobAction, JobState, ReleaseJob, RequestApproval
from runwright_proto.reports import Report

from runwright_queue import artifacts, claims, control, reaper, reports, submission, timers
from runwright_queue.settings import QueueSettings


def partial_notify(handler: Any, notify: Any) -> Any:
    async def bound(pool: Any, command: Any) -> Any:
        return await handler(pool, notify, command)

    return bound


async def expire_approvals_loop(pool: Any, notify: Any, stop: asyncio.Event, kick: Any) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):
            if await control.expire_approvals(pool, notify):
                kick()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def main() -> None:
    settings = load(QueueSettings)
    async with service("queue", settings) as ctx:
        pool = await create_pool(settings.database_url, max_size=10)
        ctx.stack.push_async_callback(pool.close)
        await migrate(pool, "queue", "runwright_queue.migrations")
        await ensure_topology(
            ctx.js, streams.ALL_STREAMS, [streams.QUEUE_REPORTS, streams.QUEUE_ARTIFACTS]
        )
        relay = OutboxRelay(pool, ctx.js, "queue.outbox")

        async def database() -> str:
            await pool.fetchval("SELECT 1")
            return "ok"

        ctx.checks["database"] = database

        def kicking(handler: Any) -> Any:
            async def wrapped(*args: Any) -> Any:
                try:
                    return await handler(pool, *args)
                finally:
                    relay.kick()

            return wrapped

        limits = settings
        await serve(
            ctx.nc,
            subjects.SUBMIT,
            SubmitJob,
            kicking(lambda pool, cmd: submission.submit(pool, cmd, limits.max_queued)),
        )
        await serve(
            ctx.nc,
            subjects.SUBMIT_BATCH,
            SubmitBatch,
            kicking(lambda pool, cmd: submission.submit_batch(pool, cmd, limits.max_queued)),
        )
        await serve(
            ctx.nc,
            subjects.CLAIM,
            ClaimJob,
            kicking(lambda pool, cmd: claims.claim(pool, cmd, limits.workspace_concurrency)),
        )
        await serve(
            ctx.nc,
            subjects.RELEASE,
            ReleaseJob,
            kicking(lambda pool, cmd: control.release(pool, limits.max_requeues, cmd)),
        )
        await serve(ctx.nc, subjects.RENEW, RenewLease, kicking(claims.renew))

        async def notify(message: Control) -> None:
            with contextlib.suppress(Exception):
                await ctx.nc.publish(subjects.control(message.job_id), encode(message))

        await serve(
            ctx.nc, subjects.ACTION, JobAction, kicking(partial_notify(control.act, notify))
        )
        await serve(ctx.nc, subjects.APPROVAL, RequestApproval, kicking(control.request_approval))
        await serve(ctx.nc, subjects.STATE, JobState, kicking(control.job_state))
        ctx.spawn(expire_approvals_loop(pool, notify, ctx.stop, relay.kick), "approval-timeouts")
        ctx.spawn(relay.run(ctx.stop), "outbox-relay")
        ctx.spawn(
            consume_keyed(
                ctx.js, streams.QUEUE_REPORTS, Report, kicking(reports.apply_report), ctx.stop
            ),
            "reports",
        )
        ctx.spawn(
            consume_keyed(
                ctx.js,
                streams.QUEUE_ARTIFACTS,
                ArtifactStored,
                kicking(artifacts.record_artifact),
                ctx.stop,
            ),
            "artifacts",
        )
        ctx.spawn(
            reaper.run_reaper(
                pool, ctx.stop, settings.reaper_interval_s, relay.kick, settings.max_requeues
            ),
            "reaper",
        )
        ctx.spawn(
            timers.run_timers(pool, ctx.stop, relay.kick, settings.redispatch_after_s), "timers"
        )
        await ctx.serve_until_stopped()
