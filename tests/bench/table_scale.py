"""The largest tables at tens of millions of rows: ``queue.jobs`` with its steps and events
(``BENCH_TABLE_JOBS`` jobs, default 2,000,000, two steps and four events each: 14 million rows),
written with ``generate_series`` into an embedded PostgreSQL of its own.

Each hot query runs with the indexes of the release before this one (the baseline, same run,
same data) and then with the indexes retention and scale added (queue migration 019): the jobs
list by workspace and by workspace and status with keyset paging, the tab counts, a job's events
after a seq, and one batch of the retention delete (rolled back). It prints p50 and max over a
few runs and the plan of each.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import statistics
import time
from importlib import resources

import asyncpg
from runwright_db.migrate_all import migrate_all
from runwright_db.retention import BATCH
from runwright_gateway import views
from runwright_queue import pruning
from runwright_stack.postgres import EmbeddedPostgres

from tests.bench.stats import table
from tests.support.stack import new_data_dir

JOBS = int(os.environ.get("BENCH_TABLE_JOBS", "2000000"))
RUNS = 7
NEW_INDEXES = "019_scale_and_retention.sql"

GENERATE = [
    "ALTER TABLE queue.jobs DISABLE TRIGGER USER",
    f"""INSERT INTO queue.jobs (id, workspace, title, status, trigger, submitted_by, runbook,
        steps_total, created_at, updated_at, started_at, finished_at, event_seq)
    SELECT md5(g::text)::uuid,
           CASE WHEN g % 2 = 0 THEN 'big' ELSE 'ws-' || (g % 97) END,
           'job ' || g,
           CASE WHEN g % 200 IN (1, 2) THEN 'running' WHEN g % 200 = 3 THEN 'waiting_for_approval'
                WHEN g % 100 < 90 THEN 'completed' WHEN g % 100 < 97 THEN 'failed'
                ELSE 'cancelled' END,
           CASE WHEN g % 10 = 0 THEN 'schedule' ELSE 'api' END,
           'admin', '{{}}', 2, t, t, t, t + interval '1 minute', 4
      FROM generate_series(1, {JOBS}) g,
           LATERAL (SELECT now() - (({JOBS} - g) * interval '180 days') / {JOBS} AS t) x""",
    "UPDATE queue.jobs SET finished_at = NULL WHERE status IN ('running', 'waiting_for_approval')",
    "ALTER TABLE queue.jobs ENABLE TRIGGER USER",
    """INSERT INTO queue.job_steps (job_id, ordinal, description, action_type, status)
    SELECT id, o, 'step', 'click', 'success' FROM queue.jobs, generate_series(1, 2) o""",
    """INSERT INTO queue.job_events (job_id, seq, type, body, created_at)
    SELECT id, s, 'status', '{"type":"status"}', created_at
      FROM queue.jobs, generate_series(1, 4) s""",
    "DELETE FROM queue.job_count_deltas",
    "DELETE FROM queue.job_counts",
    """INSERT INTO queue.job_counts (workspace, status, n)
    SELECT workspace, status, count(*) FROM queue.jobs GROUP BY workspace, status""",
    "VACUUM ANALYZE",
]


def list_sql(status: bool, keyset: bool) -> str:
    where = ["j.workspace = $1"]
    if status:
        where.append("j.status = $2")
    if keyset:
        n = 3 if status else 2
        where.append(f"(j.created_at, j.id) < (${n}, ${n + 1})")
    return (
        f"SELECT {views.SUMMARY_COLUMNS} FROM queue.jobs j WHERE {' AND '.join(where)} "
        "ORDER BY j.created_at DESC, j.id DESC LIMIT 51"
    )


COUNTS = (
    "SELECT status, sum(n)::bigint AS n FROM (SELECT status, n FROM queue.job_counts WHERE "
    "workspace = $1 UNION ALL SELECT status, delta FROM queue.job_count_deltas WHERE "
    "workspace = $1) t GROUP BY status"
)
FILTERED_COUNTS = (
    "SELECT status, count(*) AS n FROM (SELECT j.status FROM queue.jobs j WHERE "
    "j.workspace = $1 AND j.trigger = $2 LIMIT 10001) t GROUP BY status"
)
EVENTS = "SELECT seq, body FROM queue.job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq"


async def queries(conn: asyncpg.Connection) -> list[tuple[str, str, tuple[object, ...]]]:
    deep = await conn.fetchrow(
        "SELECT created_at, id FROM queue.jobs WHERE workspace = 'big' "
        "ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
        min(100_000, JOBS // 4),
    )
    job = await conn.fetchval("SELECT id FROM queue.jobs ORDER BY created_at DESC LIMIT 1")
    cutoff = await conn.fetchval("SELECT now() - interval '30 days'")
    nothing_due = await conn.fetchval("SELECT now() - interval '365 days'")
    events_cutoff = await conn.fetchval("SELECT now() - interval '7 days'")
    return [
        ("list: big workspace, first page", list_sql(False, False), ("big",)),
        ("list: big workspace, page 2,000", list_sql(False, True), ("big", *deep)),
        ("list: big workspace, failed", list_sql(True, False), ("big", "failed")),
        ("list: big workspace, running", list_sql(True, False), ("big", "running")),
        ("list: small workspace, cancelled", list_sql(True, False), ("ws-7", "cancelled")),
        ("list: small workspace, failed, deep", list_sql(True, True), ("ws-7", "failed", *deep)),
        ("counts: big workspace", COUNTS, ("big",)),
        ("counts: trigger filter", FILTERED_COUNTS, ("big", "schedule")),
        ("events after seq 2", EVENTS, (job, 2)),
        ("retention: one batch of jobs", pruning.DELETE_JOBS, (cutoff, pruning.JOBS_BATCH)),
        (
            "retention: a pass with nothing due",
            pruning.DELETE_JOBS,
            (nothing_due, pruning.JOBS_BATCH),
        ),
        ("retention: one batch of events", pruning.DELETE_EVENTS, (events_cutoff, BATCH)),
    ]


async def timed(conn: asyncpg.Connection, sql: str, args: tuple[object, ...]) -> list[float]:
    took = []
    for _ in range(RUNS):
        tr = conn.transaction()
        await tr.start()
        started = time.perf_counter()
        await conn.fetch(sql, *args)
        took.append((time.perf_counter() - started) * 1000)
        await tr.rollback()
    return took


async def plan(conn: asyncpg.Connection, sql: str, args: tuple[object, ...]) -> str:
    tr = conn.transaction()
    await tr.start()
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {sql}", *args)
    await tr.rollback()
    return "\n".join("    " + r[0] for r in rows)


async def measure(conn: asyncpg.Connection, label: str) -> tuple[dict[str, list[float]], str]:
    found, plans = {}, [f"-- plans, {label}"]
    for name, sql, args in await queries(conn):
        found[name] = await timed(conn, sql, args)
        plans.append(f"  {name}:\n{await plan(conn, sql, args)}")
    return found, "\n".join(plans)


def index_names() -> list[str]:
    text = resources.files("runwright_queue.migrations").joinpath(NEW_INDEXES).read_text()
    return re.findall(r"^CREATE (?:UNIQUE )?INDEX (\w+)", text, re.MULTILINE)


async def main_async(url: str) -> str:
    started = time.monotonic()
    await migrate_all(url, services=("queue",))
    conn = await asyncpg.connect(url, command_timeout=3600)
    try:
        for statement in GENERATE:
            await conn.execute(statement)
        rows = await conn.fetchval(
            "SELECT (SELECT count(*) FROM queue.jobs) + (SELECT count(*) FROM queue.job_steps)"
            " + (SELECT count(*) FROM queue.job_events)"
        )
        size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
        out = [
            f"{JOBS:,} jobs, {rows:,} rows in all, {size}, written in "
            f"{time.monotonic() - started:.0f} s"
        ]
        definitions = {
            name: await conn.fetchval("SELECT pg_get_indexdef(to_regclass($1))", f"queue.{name}")
            for name in index_names()
        }
        for name in definitions:
            await conn.execute(f"DROP INDEX queue.{name}")
        await conn.execute("ANALYZE queue.jobs")
        before, before_plans = await measure(conn, "baseline (indexes of the release before)")
        for definition in definitions.values():
            await conn.execute(definition)
        await conn.execute("ANALYZE queue.jobs")
        after, after_plans = await measure(conn, f"with {NEW_INDEXES}")
        rows_out = [
            (
                name,
                f"{statistics.median(before[name]):.2f}",
                f"{max(before[name]):.2f}",
                f"{statistics.median(after[name]):.2f}",
                f"{max(after[name]):.2f}",
            )
            for name in before
        ]
        out.append(
            table(
                f"ms over {RUNS} runs each",
                rows_out,
                ("query", "baseline p50", "baseline max", "p50", "max"),
            )
        )
        return "\n".join([*out, before_plans, after_plans])
    finally:
        await conn.close()


def run() -> str:
    data_dir = new_data_dir()
    postgres = EmbeddedPostgres(data_dir, data_dir / "logs", durable=False)
    postgres.start()
    try:
        return asyncio.run(main_async(postgres.url))
    finally:
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    print(run())
