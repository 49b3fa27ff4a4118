"""The approval service's lifespan: migrate its schema, report readiness, drain on SIGTERM."""

from __future__ import annotations

from runwright_bus import ensure_topology
from runwright_bus.service import service
from runwright_common.settings import load
from runwright_db import create_pool, migrate
from runwright_proto import streams

from runwright_approval.settings import ApprovalSettings


async def main() -> None:
    settings = load(ApprovalSettings)
    async with service("approval", settings) as ctx:
        pool = await create_pool(settings.database_url, max_size=4)
        ctx.stack.push_async_callback(pool.close)
        await migrate(pool, "approval", "runwright_approval.migrations")
        await ensure_topology(ctx.js, streams.ALL_STREAMS)

        async def database() -> str:
            await pool.fetchval("SELECT 1")
            return "ok"

        ctx.checks["database"] = database
        await ctx.serve_until_stopped()
