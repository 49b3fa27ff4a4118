"""Overlap policies, a queue that does not answer, and changes to a schedule: the scheduler's
own handlers and firing pass on a private database, as in test_schedules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from nats.aio.client import Client
from runwright_bus import connect
from runwright_proto.schedules import CreateSchedule, UpdateSchedule
from runwright_scheduler.firing import Firing
from runwright_scheduler.registry import Registry
from test_schedules import T0, Clock, create, dsn, jobs, nats_url, nc, occurrences, pool, spec

pytestmark = pytest.mark.e2e
__all__ = ["dsn", "nats_url", "nc", "pool"]  # the private database and NATS, as fixtures


async def test_overlap_skip_waits_for_the_previous_job_to_finish(
    pool: asyncpg.Pool, nc: Client
) -> None:
    schedule_id = await create(pool, Clock(T0), spec("* * * * *", overlap="skip"))
    firing = Firing(pool, nc)
    [first] = await firing.fire_due(T0 + timedelta(minutes=1))
    [second] = await firing.fire_due(T0 + timedelta(minutes=2))
    assert (second.outcome, second.job_id) == ("skipped_overlap", None)
    assert second.detail == f"the previous job {first.job_id} is still queued"
    # The job finishes, as the queue would record it.
    await pool.execute(
        "UPDATE queue.jobs SET status = 'completed' WHERE id = $1", uuid.UUID(str(first.job_id))
    )
    [third] = await firing.fire_due(T0 + timedelta(minutes=3))
    assert third.outcome == "fired"
    outcomes = [r["outcome"] for r in await occurrences(pool, schedule_id)]
    assert outcomes == ["fired", "skipped_overlap", "fired"]
    assert len(await jobs(pool)) == 2


async def test_overlap_allow_submits_while_the_previous_job_is_still_active(
    pool: asyncpg.Pool, nc: Client
) -> None:
    await create(pool, Clock(T0), spec("* * * * *", overlap="allow"))
    firing = Firing(pool, nc)
    for minute in (1, 2, 3):
        [occurrence] = await firing.fire_due(T0 + timedelta(minutes=minute))
        assert occurrence.outcome == "fired"
    assert [j["status"] for j in await jobs(pool)] == ["queued"] * 3


async def test_overlap_cancel_previous_still_fires_when_the_queue_does_not_answer_the_cancel(
    pool: asyncpg.Pool, nc: Client
) -> None:
    await create(pool, Clock(T0), spec("* * * * *", overlap="cancel_previous"))
    firing = Firing(pool, nc, timeout_s=0.5)
    [first] = await firing.fire_due(T0 + timedelta(minutes=1))
    [second] = await firing.fire_due(T0 + timedelta(minutes=2))
    assert second.outcome == "fired"
    assert second.detail is not None
    assert second.detail.startswith(f"could not cancel the previous job {first.job_id}")
    assert len(await jobs(pool)) == 2


async def test_a_queue_that_does_not_answer_leaves_the_occurrence_due(
    pool: asyncpg.Pool, nats_url: str
) -> None:
    schedule_id = await create(pool, Clock(T0), spec("* * * * *"))
    silent = await connect(nats_url, name="no-queue")
    try:
        assert await Firing(pool, silent, timeout_s=0.5).fire_due(T0 + timedelta(minutes=1)) == []
    finally:
        await silent.drain()
    assert await occurrences(pool, schedule_id) == []
    due = await pool.fetchval("SELECT next_fire_at FROM scheduler.schedules")
    assert due == datetime(2026, 5, 4, 12, 1, tzinfo=UTC)


async def test_pausing_stops_firing_and_resuming_does_not_catch_up(
    pool: asyncpg.Pool, nc: Client
) -> None:
    clock = Clock(T0)
    registry = Registry(pool, clock)
    schedule_id = await create(pool, clock, spec("* * * * *"))
    paused = await registry.update(
        UpdateSchedule(schedule_id=schedule_id, version=1, spec=spec("* * * * *", paused=True))
    )
    assert (paused.outcome, paused.version) == ("updated", 2)
    firing = Firing(pool, nc)
    assert await firing.fire_due(T0 + timedelta(hours=1)) == []
    clock.now = T0 + timedelta(hours=2)
    await registry.update(
        UpdateSchedule(schedule_id=schedule_id, version=2, spec=spec("* * * * *"))
    )
    assert await firing.fire_due(clock.now) == []
    [occurrence] = await firing.fire_due(clock.now + timedelta(minutes=1))
    assert occurrence.fire_at == datetime(2026, 5, 4, 14, 1, tzinfo=UTC)


async def test_a_change_at_a_version_that_moved_on_is_a_conflict(pool: asyncpg.Pool) -> None:
    clock = Clock(T0)
    schedule_id = await create(pool, clock, spec("* * * * *"))
    registry = Registry(pool, clock)
    changed = UpdateSchedule(schedule_id=schedule_id, version=1, spec=spec("0 9 * * *"))
    assert (await registry.update(changed)).outcome == "updated"
    again = await registry.update(changed)
    assert (again.outcome, again.version) == ("conflict", 2)
    next_fire_at = await pool.fetchval("SELECT next_fire_at FROM scheduler.schedules")
    assert next_fire_at == datetime(2026, 5, 5, 9, 0, tzinfo=UTC)


async def test_the_scheduler_rejects_a_bad_cron_line_even_past_the_gateway(
    pool: asyncpg.Pool,
) -> None:
    reply = await Registry(pool, Clock(T0)).create(
        CreateSchedule(schedule_id=str(uuid.uuid4()), spec=spec("* * * * * *", "Mars/Olympus"))
    )
    assert reply.outcome == "invalid"
    assert [e.field for e in reply.errors] == ["timezone", "cron"]
    assert await pool.fetchval("SELECT count(*) FROM scheduler.schedules") == 0
