"""The artifact service's lifespan: store, intake of staged files, presigning, retention."""

from __future__ import annotations

from functools import partial

from runwright_bus import consume_keyed, ensure_topology, serve
from runwright_bus.service import service
from runwright_bus.staging import staging_bucket
from runwright_common import metrics
from runwright_common.settings import load
from runwright_db import OutboxRelay, create_pool, prepare_schema, retention
from runwright_proto import streams, subjects
from runwright_proto.artifacts import ArtifactStaged, PresignArtifact
from runwright_storage import open_store

from runwright_artifact.intake import Intake
from runwright_artifact.presign import presign
from runwright_artifact.settings import ArtifactSettings
from runwright_artifact.sweeper import run_sweeper, sweep_pruned_jobs


async def main() -> None:
    settings = load(ArtifactSettings)
    async with service("artifact", settings) as ctx:
        pool = await create_pool(settings.database_url, max_size=6)
        ctx.stack.push_async_callback(pool.close)
        await prepare_schema(
            pool, "artifact", "runwright_artifact.migrations", settings.migrate_on_start
        )
        await ensure_topology(ctx.js, streams.ALL_STREAMS, [streams.ARTIFACT_STAGED])
        store = open_store(
            artifact_dir=settings.artifact_dir,
            s3_endpoint=settings.s3_endpoint,
            s3_access_key=settings.s3_access_key,
            s3_secret_key=settings.s3_secret_key,
            s3_bucket=settings.s3_bucket,
            s3_secure=settings.s3_secure,
        )
        await store.ensure_ready()
        staging = await staging_bucket(ctx.js, own=True)
        relay = OutboxRelay(pool, ctx.js, "artifact.outbox")
        metrics.on_scrape(relay.measure)

        async def database() -> str:
            await pool.fetchval("SELECT 1")
            return "ok"

        ctx.checks["database"] = database
        ctx.checks["store"] = store.check
        intake = Intake(pool, store, staging, settings, relay.kick)
        await serve(
            ctx.nc,
            subjects.ARTIFACT_PRESIGN,
            PresignArtifact,
            partial(presign, pool, store, settings.presign_ttl_s),
        )
        ctx.spawn(relay.run(ctx.stop), "outbox-relay")
        ctx.spawn(
            consume_keyed(
                ctx.js, streams.ARTIFACT_STAGED, ArtifactStaged, intake.handle, ctx.stop, batch=8
            ),
            "intake",
        )
        ctx.spawn(run_sweeper(pool, store, ctx.stop, settings.sweep_interval_s), "sweeper")
        ctx.spawn(
            retention.periodic(pool, partial(sweep_pruned_jobs, store), ctx.stop), "retention"
        )
        await ctx.serve_until_stopped()
