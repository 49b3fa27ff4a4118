"""Schedules of a stored runbook, on the scheduler's own firing pass (a private database with the
gateway's, queue's and scheduler's schemas, a private nats-server, the queue's real submit
handler): one that follows ``<slug>`` runs whatever version is published when it fires, one pinned
to ``<slug>@<n>`` stays on it, and an archived runbook's occurrence fails saying so."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import msgspec
import pytest
from nats.aio.client import Client
from runwright_db import migrate
from runwright_gateway import library
from runwright_proto.schedules import JobTemplate, ScheduleSpec
from runwright_scheduler.firing import Firing
from test_schedules import T0, Clock, create, dsn, jobs, nats_url, nc, pool, spec

pytestmark = pytest.mark.e2e
__all__ = ["dsn", "nats_url", "nc", "pool"]  # the private database and NATS, as fixtures


def steps_yaml(*descriptions: str) -> str:
    body = "".join(
        f"  - ordinal: {i}\n    description: {d}\n    action: {{type: wait, duration: 1}}\n"
        for i, d in enumerate(descriptions)
    )
    return f"title: Nightly export\nmetadata: {{startUrl: 'about:blank'}}\nsteps:\n{body}"


async def stored(pool: asyncpg.Pool, slug: str) -> asyncpg.Record:
    await migrate(pool, "gateway", "runwright_gateway.migrations")
    async with pool.acquire() as conn, conn.transaction():
        row = await library.create(
            conn,
            workspace="default",
            slug=slug,
            title="Nightly export",
            actor="user:dev@example.test",
            body=library.content(steps_yaml("open the report")),
            message="",
        )
        assert row is not None
        await library.publish(conn, row, 1, "user:dev@example.test")
        return await library.find(conn, "default", slug)


async def new_version(pool: asyncpg.Pool, slug: str, *descriptions: str, publish: bool) -> int:
    async with pool.acquire() as conn, conn.transaction():
        row = await library.find(conn, "default", slug, lock=True)
        number, _ = await library.add_version(
            conn, row, library.content(steps_yaml(*descriptions)), "user:dev@example.test", ""
        )
        if publish:
            await library.publish(conn, row, number, "user:dev@example.test")
        return number


def of(ref: str) -> ScheduleSpec:
    """A schedule of the stored runbook (its template as the gateway builds it: version 1)."""
    base = spec("* * * * *")
    job = msgspec.structs.replace(
        base.job,
        labels={
            **base.job.labels,
            "runwright.runbook": ref.split("@")[0],
            "runwright.runbook_version": "1",
        },
    )
    return msgspec.structs.replace(
        base, job=JobTemplate(**msgspec.structs.asdict(job)), runbook_ref=ref
    )


async def test_a_following_schedule_runs_the_version_published_when_it_fires(
    pool: asyncpg.Pool, nc: Client
) -> None:
    await stored(pool, "nightly")
    await create(pool, Clock(T0), of("nightly"))
    await create(pool, Clock(T0), of("nightly@1"))
    firing = Firing(pool, nc)
    await firing.fire_due(T0 + timedelta(minutes=1))
    await new_version(pool, "nightly", "open the report", "export it", publish=True)
    await new_version(pool, "nightly", "a draft nobody published", publish=False)
    await firing.fire_due(T0 + timedelta(minutes=2))

    ran = [(j["labels"]["runwright.runbook_version"], j["steps_total"]) for j in await jobs(pool)]
    # Minute 1: both on version 1. Minute 2: the follower on version 2 (2 steps), not the
    # draft 3; the pinned one still on version 1.
    assert sorted(ran[:2]) == [("1", 1), ("1", 1)]
    assert sorted(ran[2:]) == [("1", 1), ("2", 2)]
    follower = [j for j in await jobs(pool) if j["labels"]["runwright.runbook_version"] == "2"]
    assert [s["description"] for s in follower[0]["runbook"]["steps"]] == [
        "open the report",
        "export it",
    ]


async def test_an_archived_runbooks_occurrence_fails_saying_so(
    pool: asyncpg.Pool, nc: Client
) -> None:
    row = await stored(pool, "retired")
    await create(pool, Clock(T0), of("retired"))
    async with pool.acquire() as conn:
        await library.update(conn, row, title=None, archived=True, actor="admin")
    [occurrence] = await Firing(pool, nc).fire_due(T0 + timedelta(minutes=1))
    assert occurrence.outcome == "failed"
    assert occurrence.detail == "runbook retired has no published version, or is archived"
    assert await jobs(pool) == []
