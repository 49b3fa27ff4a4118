"""Schedules fire every occurrence once, at the right instant of their time zone.

These drive the scheduler service's own handlers and firing pass with a driven clock, against a
private database on the real PostgreSQL and a private nats-server on which the queue service's
real submit handler answers, so the jobs land in that same private database.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from nats.aio.client import Client
from runwright_bus import connect, serve
from runwright_common.errors import SettingsError
from runwright_common.settings import load
from runwright_db import create_pool, migrate
from runwright_proto import subjects
from runwright_proto.commands import StepSpec, SubmitJob
from runwright_proto.schedules import (
    CreateSchedule,
    JobTemplate,
    Overlap,
    ScheduleSpec,
    fire_times,
)
from runwright_queue import submission
from runwright_queue.sealing import transient
from runwright_runbook import parse_runbook
from runwright_scheduler.firing import SCHEDULE_LABEL, Firing
from runwright_scheduler.registry import Registry
from runwright_scheduler.settings import SchedulerSettings
from runwright_stack.nats_server import NatsServer
from runwright_stack.stack import Stack
from support.runbooks import runbook

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e

T0 = datetime(2026, 5, 4, 12, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("nats")
    server = NatsServer(root, root)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
async def dsn(stack: Stack) -> AsyncIterator[str]:
    name = f"schedules_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(stack.database_url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield stack.database_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def pool(dsn: str) -> AsyncIterator[asyncpg.Pool]:
    db = await create_pool(dsn, max_size=10)
    await migrate(db, "queue", "runwright_queue.migrations")
    await migrate(db, "scheduler", "runwright_scheduler.migrations")
    yield db
    await db.close()


@pytest.fixture
async def nc(nats_url: str, pool: asyncpg.Pool) -> AsyncIterator[Client]:
    """A NATS connection on which the queue service's real submit handler answers."""
    client = await connect(nats_url, name="scheduler-test")
    queue = await serve(
        client, subjects.SUBMIT, SubmitJob, functools.partial(submission.submit, pool, keys=KEYS)
    )
    yield client
    await queue.unsubscribe()
    await client.drain()


def spec(
    cron: str, timezone: str = "UTC", *, overlap: Overlap = "allow", paused: bool = False
) -> ScheduleSpec:
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url="about:blank")
    job = JobTemplate(
        title="Nightly export",
        runbook=parse_runbook(document),
        steps=[StepSpec(ordinal=0, description="step 0", action_type="wait")],
        labels={"team": "ops"},
    )
    return ScheduleSpec(
        name="Nightly export", cron=cron, timezone=timezone, job=job, overlap=overlap, paused=paused
    )


async def create(pool: asyncpg.Pool, clock: Clock, definition: ScheduleSpec) -> str:
    schedule_id = str(uuid.uuid4())
    reply = await Registry(pool, clock).create(
        CreateSchedule(schedule_id=schedule_id, spec=definition)
    )
    assert reply.outcome == "created"
    return schedule_id


async def occurrences(pool: asyncpg.Pool, schedule_id: str) -> list[asyncpg.Record]:
    return list(
        await pool.fetch(
            "SELECT * FROM scheduler.occurrences WHERE schedule_id = $1 ORDER BY fire_at",
            uuid.UUID(schedule_id),
        )
    )


async def jobs(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return list(await pool.fetch("SELECT * FROM queue.jobs ORDER BY created_at"))


def local(times: list[datetime], timezone: str) -> list[str]:
    return [t.astimezone(ZoneInfo(timezone)).isoformat() for t in times]


DST_DAYS = [
    pytest.param(
        "30 2 * * *", "Europe/Berlin", "2026-03-28",
        ["2026-03-28T02:30:00+01:00", "2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"],
        id="berlin-spring-forward",
    ),
    pytest.param(
        "30 2 * * *", "Europe/Berlin", "2026-10-24",
        ["2026-10-24T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
        id="berlin-fall-back",
    ),
    pytest.param(
        "30 2 * * *", "America/New_York", "2026-03-07",
        ["2026-03-07T02:30:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"],
        id="new-york-spring-forward",
    ),
    pytest.param(
        "30 1 * * *", "America/New_York", "2026-10-31",
        ["2026-10-31T01:30:00-04:00", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"],
        id="new-york-fall-back",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("cron", "timezone", "day", "expected"), DST_DAYS)
def test_a_daily_schedule_fires_once_on_each_daylight_saving_day(
    cron: str, timezone: str, day: str, expected: list[str]
) -> None:
    midnight = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(timezone))
    assert local(fire_times(cron, timezone, midnight, 3), timezone) == expected


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_an_every_half_hour_schedule_follows_the_clock_through_the_transition(day: str) -> None:
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo("Europe/Berlin"))
    times = fire_times("*/30 * * * *", "Europe/Berlin", start, 12)
    instants = [t.astimezone(UTC) for t in times]  # same-zone subtraction ignores offsets
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(instants))
    walls = [t.strftime("%H:%M%z") for t in times]
    if day == "2026-03-29":  # 02:00-03:00 does not exist
        assert walls[2:5] == ["01:30+0100", "03:00+0200", "03:30+0200"]
    else:  # 02:00-03:00 happens twice
        assert walls[3:8] == ["02:00+0200", "02:30+0200", "02:00+0100", "02:30+0100", "03:00+0100"]


@pytest.mark.parametrize(("cron", "timezone", "day", "expected"), DST_DAYS)
async def test_a_driven_clock_through_a_daylight_saving_night_fires_each_day_once(
    pool: asyncpg.Pool, nc: Client, cron: str, timezone: str, day: str, expected: list[str]
) -> None:
    clock = Clock(datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(timezone)))
    schedule_id = await create(pool, clock, spec(cron, timezone))
    firing = Firing(pool, nc, grace=timedelta(minutes=10))
    end = clock.now + timedelta(hours=54)
    while clock.now < end:
        clock.now += timedelta(minutes=5)
        await firing.fire_due(clock.now)
    rows = await occurrences(pool, schedule_id)
    assert local([r["fire_at"] for r in rows], timezone) == expected
    assert {r["outcome"] for r in rows} == {"fired"}
    recorded = await jobs(pool)
    assert sorted(j["id"] for j in recorded) == sorted(r["job_id"] for r in rows)
    assert {j["trigger"] for j in recorded} == {"schedule"}
    assert all(j["labels"] == {"team": "ops", SCHEDULE_LABEL: schedule_id} for j in recorded)


async def test_two_scheduler_replicas_fire_each_occurrence_once(
    pool: asyncpg.Pool, dsn: str, nc: Client, nats_url: str
) -> None:
    clock = Clock(T0)
    ids = [await create(pool, clock, spec("* * * * *")) for _ in range(6)]
    other_pool = await create_pool(dsn, max_size=10)
    other_nc = await connect(nats_url, name="scheduler-replica")
    try:
        replicas = [Firing(pool, nc), Firing(other_pool, other_nc)]
        handled = 0
        for minute in range(1, 5):
            now = T0 + timedelta(minutes=minute)
            passes = await asyncio.gather(*(r.fire_due(now) for r in replicas))
            handled += sum(len(p) for p in passes)
    finally:
        await other_pool.close()
        await other_nc.drain()
    assert handled == 6 * 4
    for schedule_id in ids:
        rows = await occurrences(pool, schedule_id)
        assert [r["outcome"] for r in rows] == ["fired"] * 4
    assert len({j["id"] for j in await jobs(pool)}) == 6 * 4


async def test_an_occurrence_recorded_already_is_never_fired_again(
    pool: asyncpg.Pool, nc: Client
) -> None:
    clock = Clock(T0)
    schedule_id = await create(pool, clock, spec("* * * * *"))
    firing = Firing(pool, nc)
    [first] = await firing.fire_due(T0 + timedelta(minutes=1))
    # A replica with a stale view (or a clock behind) points the schedule at it again.
    await pool.execute(
        "UPDATE scheduler.schedules SET next_fire_at = $2 WHERE id = $1",
        uuid.UUID(schedule_id),
        first.fire_at,
    )
    assert await firing.fire_due(T0 + timedelta(minutes=1)) == []
    assert len(await occurrences(pool, schedule_id)) == 1
    assert len(await jobs(pool)) == 1


@pytest.mark.parametrize(
    ("catch_up", "fired"), [(0, []), (1, ["13:00"]), (3, ["12:40", "12:50", "13:00"])]
)
async def test_after_downtime_only_the_latest_missed_occurrences_fire(
    pool: asyncpg.Pool, nc: Client, catch_up: int, fired: list[str]
) -> None:
    schedule_id = await create(pool, Clock(T0), spec("*/10 * * * *"))
    back = T0 + timedelta(hours=1, minutes=5)  # down from 12:00:30 to 13:05:30
    await Firing(pool, nc, catch_up=catch_up).fire_due(back)
    rows = await occurrences(pool, schedule_id)
    assert [r["fire_at"].strftime("%H:%M") for r in rows] == [
        "12:10", "12:20", "12:30", "12:40", "12:50", "13:00",
    ]  # fmt: skip
    assert [r["fire_at"].strftime("%H:%M") for r in rows if r["outcome"] == "fired"] == fired
    missed = [r for r in rows if r["outcome"] == "skipped_missed"]
    assert len(missed) == 6 - len(fired)
    assert all("missed" in r["detail"] and r["job_id"] is None for r in missed)
    assert len(await jobs(pool)) == len(fired)
    next_fire_at = await pool.fetchval("SELECT next_fire_at FROM scheduler.schedules")
    assert next_fire_at == datetime(2026, 5, 4, 13, 10, tzinfo=UTC)


async def test_a_long_outage_records_the_latest_thousand_missed_and_says_more_were_missed(
    pool: asyncpg.Pool, nc: Client
) -> None:
    schedule_id = await create(pool, Clock(T0), spec("* * * * *"))
    await Firing(pool, nc, grace=timedelta(seconds=10)).fire_due(T0 + timedelta(days=2))
    rows = await occurrences(pool, schedule_id)
    assert [r["outcome"] for r in rows] == ["skipped_missed"] * 1000 + ["fired"]
    assert (
        "earlier occurrences since 2026-05-04T12:01:00+00:00 were missed too" in rows[0]["detail"]
    )
    assert "were missed too" not in rows[1]["detail"]


def test_a_bad_catch_up_setting_stops_the_service_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="RUNWRIGHT_CATCH_UP"):
        load(SchedulerSettings, {"RUNWRIGHT_CATCH_UP": "-1"})
