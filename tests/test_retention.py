"""Retention: each service prunes its own tables by age, on a driven clock, against a real
PostgreSQL. Old finished jobs go with everything that hangs off them (steps, events, report,
approvals, actions, decisions, schedule occurrences, files); young ones, and running or waiting
ones however old, stay; the audit log is kept far longer, and stays append-only otherwise."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from runwright_approval import pruning as approval_pruning
from runwright_artifact.sweeper import sweep_pruned_jobs
from runwright_db import create_pool
from runwright_db.migrate_all import migrate_all
from runwright_db.retention import Retention
from runwright_gateway import pruning as gateway_pruning
from runwright_queue import pruning as queue_pruning
from runwright_scheduler import pruning as scheduler_pruning
from runwright_stack.postgres import EmbeddedPostgres
from runwright_storage import FilesystemStore
from support.stack import new_data_dir

NOW = datetime.now(UTC)
DEFAULTS = Retention()


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    data_dir = new_data_dir()
    server = EmbeddedPostgres(data_dir, data_dir / "logs", durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def pool(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Pool]:
    name = f"retention_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres.url)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    try:
        await migrate_all(dsn)
        db = await create_pool(dsn, max_size=4)
        yield db
        await db.close()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def add_job(
    pool: asyncpg.Pool, status: str, created_days: float, finished_days: float | None
) -> uuid.UUID:
    """A job with two steps, three events, a report, an approval, an action and a decision, an
    approval request and a delivered webhook, a schedule occurrence: all as old as the job."""
    job = uuid.uuid4()
    created, finished = ago(created_days), None if finished_days is None else ago(finished_days)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "INSERT INTO queue.jobs (id, title, status, submitted_by, runbook, steps_total, "
            "created_at, updated_at, finished_at) VALUES ($1, 't', $2, 'admin', '{}', 2, $3, $3, "
            "$4)",
            job,
            status,
            created,
            finished,
        )
        for ordinal in (1, 2):
            await conn.execute(
                "INSERT INTO queue.job_steps (job_id, ordinal, description, action_type) "
                "VALUES ($1, $2, 'd', 'click')",
                job,
                ordinal,
            )
        for seq in (1, 2, 3):
            await conn.execute(
                "INSERT INTO queue.job_events (job_id, seq, type, body, created_at) "
                "VALUES ($1, $2, 'status', '{}', $3)",
                job,
                seq,
                created,
            )
        await conn.execute(
            "INSERT INTO queue.job_reports (job_id, report, markdown) VALUES ($1, '{}', '')", job
        )
        await conn.execute(
            "INSERT INTO queue.job_approvals (id, job_id, attempt, ordinal, state, description, "
            "risk_level, requested_at, deadline) VALUES ($1, $2, 1, 1, 'approved', 'd', 'low', "
            "$3, $3)",
            uuid.uuid4(),
            job,
            created,
        )
        await conn.execute(
            "INSERT INTO queue.job_actions (job_id, action, actor, applied, at) "
            "VALUES ($1, 'pause', 'admin', true, $2)",
            job,
            created,
        )
        request = uuid.uuid4()
        await conn.execute(
            "INSERT INTO approval.requests (id, job_id, workspace, attempt, ordinal, state, "
            "requested_at) VALUES ($1, $2, 'default', 1, 1, 'approved', $3)",
            request,
            job,
            created,
        )
        await conn.execute(
            "INSERT INTO approval.decisions (id, approval_id, job_id, workspace, action, actor, "
            "role, outcome, status, decided_at) VALUES ($1, $2, $3, 'default', 'approve', 'a', "
            "'owner', 'applied', 'running', $4)",
            uuid.uuid4(),
            request,
            job,
            created,
        )
    return job


async def count(pool: asyncpg.Pool, table: str, job: uuid.UUID) -> int:
    column = "id" if table == "queue.jobs" else "job_id"
    return int(await pool.fetchval(f"SELECT count(*) FROM {table} WHERE {column} = $1", job))


HANGING = (
    "queue.jobs",
    "queue.job_steps",
    "queue.job_events",
    "queue.job_reports",
    "queue.job_approvals",
    "queue.job_actions",
    "approval.requests",
    "approval.decisions",
)


async def left(pool: asyncpg.Pool, job: uuid.UUID) -> dict[str, int]:
    return {table: await count(pool, table, job) for table in HANGING}


async def prune_all(pool: asyncpg.Pool, retention: Retention) -> dict[str, int]:
    removed: dict[str, int] = {}
    for prune in (queue_pruning.prune, approval_pruning.prune, scheduler_pruning.prune):
        removed.update(await prune(pool, retention, NOW))
    return removed


async def test_old_finished_jobs_go_with_everything_and_active_ones_stay(
    pool: asyncpg.Pool,
) -> None:
    old = {s: await add_job(pool, s, 45, 40) for s in ("completed", "failed", "cancelled")}
    young = await add_job(pool, "completed", 12, 10)
    running = await add_job(pool, "running", 400, None)
    waiting = await add_job(pool, "waiting_for_approval", 400, None)
    # Never a job that can still run, even one with a stale finish time (a job run again).
    requeued = await add_job(pool, "queued", 400, 300)

    removed = await prune_all(pool, DEFAULTS)

    assert removed["jobs"] == 3
    for job in old.values():
        assert set((await left(pool, job)).values()) == {0}, "every row of the job went"
    for job in (young, running, waiting, requeued):
        assert 0 not in (await left(pool, job)).values(), "nothing of it went"
    assert await prune_all(pool, DEFAULTS) == {
        "jobs": 0,
        "processed_messages": 0,
        "approval_requests": 0,
        "approval_decisions": 0,
        "webhook_deliveries": 0,
        "schedule_occurrences": 0,
    }, "a second pass finds nothing"


async def test_a_job_runs_out_of_retention_only_when_its_days_are_up(pool: asyncpg.Pool) -> None:
    job = await add_job(pool, "completed", 40, 29)
    assert (await queue_pruning.prune(pool, DEFAULTS, NOW))["jobs"] == 0
    assert (await queue_pruning.prune(pool, DEFAULTS, NOW + timedelta(days=2)))["jobs"] == 1
    assert await count(pool, "queue.jobs", job) == 0
    forever = Retention(retain_jobs_days=0, retain_events_days=0)
    kept = await add_job(pool, "completed", 4000, 3000)
    assert "jobs" not in await queue_pruning.prune(pool, forever, NOW), "0 keeps for ever"
    assert await count(pool, "queue.job_events", kept) == 3


async def test_events_can_go_before_their_job(pool: asyncpg.Pool) -> None:
    retention = Retention(retain_jobs_days=30, retain_events_days=7)
    older = await add_job(pool, "failed", 21, 20)
    newer = await add_job(pool, "failed", 6, 5)
    running = await add_job(pool, "running", 60, None)
    removed = await queue_pruning.prune(pool, retention, NOW)
    assert removed["job_events"] == 3
    assert await left(pool, older) == {**await left(pool, newer), "queue.job_events": 0}
    assert await count(pool, "queue.job_events", newer) == 3
    assert await count(pool, "queue.job_events", running) == 3


async def test_idempotency_records_deliveries_and_occurrences_go_by_their_own_age(
    pool: asyncpg.Pool,
) -> None:
    for days, msg in ((8, "old"), (6, "young")):
        await pool.execute(
            "INSERT INTO queue.processed_messages (consumer, msg_id, processed_at) "
            "VALUES ('queue-reports', $1, $2)",
            msg,
            ago(days),
        )
    hook = uuid.uuid4()
    await pool.execute(
        "INSERT INTO approval.webhooks (id, url, secret, events) "
        "VALUES ($1, 'https://example.test/h', 's', ARRAY['job.finished'])",
        hook,
    )
    deliveries = {}
    for days, status in ((20, "delivered"), (20, "gave_up"), (20, "pending"), (3, "delivered")):
        delivery = uuid.uuid4()
        deliveries[(days, status)] = delivery
        await pool.execute(
            "INSERT INTO approval.deliveries (id, webhook_id, event_key, event, job_id, body, "
            "status, created_at) VALUES ($1, $2, $3, 'job.finished', $4, '{}', $5, $6)",
            delivery,
            hook,
            str(delivery),
            uuid.uuid4(),
            status,
            ago(days),
        )
        await pool.execute(
            "INSERT INTO approval.delivery_attempts (delivery_id, attempt, at, duration_ms) "
            "VALUES ($1, 1, $2, 5)",
            delivery,
            ago(days),
        )
    schedule = uuid.uuid4()
    await pool.execute(
        "INSERT INTO scheduler.schedules (id, name, cron, timezone, title, runbook, steps, "
        "next_fire_at) VALUES ($1, 'n', '* * * * *', 'UTC', 't', '{}', '[]', now())",
        schedule,
    )
    for days in (40, 20):
        await pool.execute(
            "INSERT INTO scheduler.occurrences (schedule_id, fire_at, outcome, created_at) "
            "VALUES ($1, $2, 'fired', $2)",
            schedule,
            ago(days),
        )

    removed = await prune_all(pool, DEFAULTS)

    assert removed["processed_messages"] == 1
    assert removed["webhook_deliveries"] == 2
    assert removed["schedule_occurrences"] == 1
    assert [
        r["msg_id"] for r in await pool.fetch("SELECT msg_id FROM queue.processed_messages")
    ] == ["young"]
    kept = {r["id"] for r in await pool.fetch("SELECT id FROM approval.deliveries")}
    assert kept == {deliveries[(20, "pending")], deliveries[(3, "delivered")]}
    assert await pool.fetchval("SELECT count(*) FROM approval.delivery_attempts") == 2
    assert await pool.fetchval("SELECT count(*) FROM scheduler.occurrences") == 1


async def test_the_audit_log_outlives_jobs_and_only_pruning_removes_it(pool: asyncpg.Pool) -> None:
    for days in (500, 100, 10):
        await pool.execute(
            "INSERT INTO gateway.audit (at, actor, action, outcome, status) "
            "VALUES ($1, 'admin', 'job.submit', 'ok', 201)",
            ago(days),
        )
    job = await add_job(pool, "completed", 101, 100)
    await prune_all(pool, DEFAULTS)
    removed = await gateway_pruning.prune(pool, DEFAULTS, NOW)
    assert removed["audit"] == 1
    assert await count(pool, "queue.jobs", job) == 0, "the job of 100 days ago went"
    ages = await pool.fetch("SELECT now() - at AS age FROM gateway.audit ORDER BY at")
    assert [round(r["age"].days, -1) for r in ages] == [100, 10], "its audit rows stay"
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.execute("DELETE FROM gateway.audit")
    # Even a retention set too short never takes a row younger than 30 days.
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await pool.fetchval("SELECT gateway.prune_audit(now(), 100)")


async def test_the_files_of_pruned_jobs_go_and_those_of_kept_jobs_stay(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = FilesystemStore(tmp_path)
    pruned = await add_job(pool, "completed", 45, 40)
    kept = await add_job(pool, "completed", 45, 20)
    keys = {}
    for job in (pruned, kept):
        artifact = uuid.uuid4()
        keys[job] = f"jobs/{job}/{artifact}"

        async def body() -> AsyncIterator[bytes]:
            yield b"png"

        stored = await store.put(keys[job], body(), content_type="image/png")
        await pool.execute(
            "INSERT INTO artifact.artifacts (id, job_id, kind, name, size, content_type, sha256, "
            "storage_key, created_at, expires_at) VALUES ($1, $2, 'export', 'f', $3, "
            "'image/png', $4, $5, $6, $7)",
            artifact,
            job,
            stored.size,
            stored.sha256,
            keys[job],
            ago(45),
            NOW + timedelta(days=45),
        )
    assert await sweep_pruned_jobs(store, pool, DEFAULTS, NOW) == {"artifacts_of_pruned_jobs": 0}
    await queue_pruning.prune(pool, DEFAULTS, NOW)
    assert await sweep_pruned_jobs(store, pool, DEFAULTS, NOW) == {"artifacts_of_pruned_jobs": 1}
    assert await store.stat(keys[pruned]) is None
    assert await store.stat(keys[kept]) is not None
    assert await pool.fetchval("SELECT count(*) FROM artifact.artifacts WHERE job_id = $1", kept)


def test_a_bad_retention_setting_names_itself() -> None:
    from runwright_common.errors import SettingsError
    from runwright_common.settings import load

    with pytest.raises(SettingsError, match="RUNWRIGHT_RETAIN_AUDIT_DAYS"):
        load(Retention, {"RUNWRIGHT_RETAIN_AUDIT_DAYS": "7"})
    with pytest.raises(SettingsError, match="RUNWRIGHT_RETAIN_JOBS_DAYS"):
        load(Retention, {"RUNWRIGHT_RETAIN_JOBS_DAYS": "-1"})
    assert load(Retention, {"RUNWRIGHT_RETAIN_JOBS_DAYS": "0"}).retain_jobs_days == 0
