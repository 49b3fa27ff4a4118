"""The scheduler service's lifespan: migrate, answer schedule changes, fire due occurrences."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from runwright_bus import ensure_topology, serve
from runwright_bus.service import service
from runwright_common.logging import get_logger
from runwright_common.settings import load
from runwright_db import create_pool, prepare_schema, retention
from runwright_proto import schedules, streams
from runwright_proto.schedules import CreateSchedule, DeleteSchedule, UpdateSchedule

from runwright_scheduler import pruning
from runwright_scheduler.firing import Firing
from runwright_scheduler.registry import Registry
from runwright_scheduler.settings import SchedulerSettings

log = get_logger("runwright.scheduler")


def utc_now() -> datetime:
    return datetime.now(UTC)


async def run_ticks(
    firing: Firing, stop: asyncio.Event, tick_s: float, clock: Callable[[], datetime] = utc_now
) -> None:
    """Fire what is due every ``tick_s`` until ``stop``; a pass in progress finishes first."""
    while not stop.is_set():
        try:
            await firing.fire_due(clock())
        except Exception:
            log.exception("firing pass failed; the next tick tries again")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), tick_s)


async def main() -> None:
    settings = load(SchedulerSettings)
    async with service("scheduler", settings) as ctx:
        pool = await create_pool(settings.database_url, max_size=4)
        ctx.stack.push_async_callback(pool.close)
        await prepare_schema(
            pool, "scheduler", "runwright_scheduler.migrations", settings.migrate_on_start
        )
        await ensure_topology(ctx.js, streams.ALL_STREAMS)

        async def database() -> str:
            await pool.fetchval("SELECT 1")
            return "ok"

        ctx.checks["database"] = database
        registry = Registry(pool, utc_now)
        await serve(ctx.nc, schedules.CREATE, CreateSchedule, registry.create)
        await serve(ctx.nc, schedules.UPDATE, UpdateSchedule, registry.update)
        await serve(ctx.nc, schedules.DELETE, DeleteSchedule, registry.delete)
        firing = Firing(
            pool,
            ctx.nc,
            catch_up=settings.catch_up,
            grace=timedelta(seconds=settings.misfire_grace_s),
            timeout_s=settings.submit_timeout_s,
        )
        ctx.spawn(run_ticks(firing, ctx.stop, settings.tick_s), "firing")
        ctx.spawn(retention.periodic(pool, pruning.prune, ctx.stop), "retention")
        await ctx.serve_until_stopped()
