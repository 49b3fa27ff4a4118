"""How fast a dead executor's jobs leave ``running``, and what the timing costs in false alarms.

Two stacks, one after the other, each with two executors of two slots: the shipped timing
(lease 6 s, renewal every 1.5 s, reaper every 1 s or at the next lease end) and, as the baseline,
the timing before it (lease 30 s, renewal every 10 s, reaper every 2 s) on the same code. On each:

- renewal lateness, idle and then with every core busy (busy-loop processes, one per core and
  one more, at the executors' priority) while four jobs run: a trigger the benchmark puts on
  ``queue.jobs`` records each lease change at the database's clock, so the figure covers the
  whole path (the executor's loop, NATS, the queue, PostgreSQL): the gap between a job's
  consecutive renewals less the renewal period;
- false alarms: jobs declared ``executor lost`` while every executor was alive (busy phase);
- detection: both executors SIGKILLed while running four jobs, ``KILLS`` times; per job the time
  from the kill, and from its last renewal, to the reaper's transition (database clock).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import signal
import time
import uuid
from datetime import datetime, timedelta

import asyncpg
import httpx
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack, StackConfig

from tests.bench.stats import percentile, table
from tests.support.busy import every_core_busy
from tests.support.stack import new_data_dir

KILLS = int(os.environ.get("BENCH_DETECT_KILLS", "10"))
"""Executor kills per timing (two per round: both executors at once)."""
PHASE_S = float(os.environ.get("BENCH_DETECT_PHASE_S", "30"))
"""Length of the idle and of the busy phase."""
EXECUTORS = 2
SLOTS = 2

TIMINGS: list[tuple[str, dict[str, str]]] = [
    (
        "before: lease 30 s, renew 10 s, sweep 2 s",
        {
            "RUNWRIGHT_LEASE_MS": "30000",
            "RUNWRIGHT_LEASE_RENEW_MS": "10000",
            "RUNWRIGHT_REAPER_INTERVAL_S": "2",
        },
    ),
    ("now: lease 6 s, renew 1.5 s, sweep 1 s", {}),
]

RECORDER = """
CREATE TABLE IF NOT EXISTS public.bench_leases (
    job_id uuid, attempt integer, status text, expires timestamptz,
    at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE OR REPLACE FUNCTION public.bench_lease_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.bench_leases (job_id, attempt, status, expires)
    VALUES (NEW.id, NEW.attempt, NEW.status, NEW.lease_expires_at);
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS bench_lease_changed ON queue.jobs;
CREATE TRIGGER bench_lease_changed AFTER UPDATE ON queue.jobs FOR EACH ROW
    WHEN (NEW.lease_expires_at IS DISTINCT FROM OLD.lease_expires_at
          OR NEW.status IS DISTINCT FROM OLD.status)
    EXECUTE FUNCTION public.bench_lease_changed();
"""
"""Benchmark instrumentation on the benchmark's own throwaway database only."""


def waiting(seconds: float) -> dict[str, object]:
    return {
        "title": "bench: wait",
        "settings": {
            "defaultTimeout": int(seconds * 1000) + 60000,
            "pauseBetweenSteps": 0,
            "stopOnError": True,
        },
        "metadata": {"startUrl": "about:blank", "goal": "bench", "goalAchieved": True},
        "steps": [
            {
                "ordinal": 0,
                "description": "wait",
                "action": {"type": "wait", "duration": int(seconds * 1000)},
            }
        ],
    }


class Bench:
    def __init__(self, stack: Stack, env: dict[str, str]) -> None:
        self.stack = stack
        self.api = httpx.Client(
            base_url=stack.gateway_url,
            timeout=60,
            headers={"Authorization": f"Bearer {stack.token}"},
        )
        self.lease = timedelta(milliseconds=int(env.get("RUNWRIGHT_LEASE_MS", "6000")))
        self.renew_s = int(env.get("RUNWRIGHT_LEASE_RENEW_MS", "1500")) / 1000

    def sql(self, query: str, *args: object) -> list[asyncpg.Record]:
        async def go() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.stack.database_url)
            try:
                return list(await conn.fetch(query, *args))
            finally:
                await conn.close()

        return asyncio.run(go())

    def execute(self, script: str) -> None:
        async def go() -> None:
            conn = await asyncpg.connect(self.stack.database_url)
            try:
                await conn.execute(script)
            finally:
                await conn.close()

        asyncio.run(go())

    def submit(self, count: int, seconds: float) -> list[str]:
        return [
            self.api.post("/api/v1/jobs", json={"runbook": waiting(seconds)}).json()["id"]
            for _ in range(count)
        ]

    def wait_status(self, ids: list[str], done: tuple[str, ...], limit_s: float = 300) -> None:
        deadline = time.monotonic() + limit_s
        for job_id in ids:
            while self.api.get(f"/api/v1/jobs/{job_id}").json()["status"] not in done:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"job {job_id} not {done}")
                time.sleep(0.2)

    def phase(self, busy: bool) -> tuple[list[float], int]:
        """Lateness of every renewal in a phase of four jobs, and the jobs declared lost."""
        since = self.sql("SELECT clock_timestamp() AS t")[0]["t"]
        ids = self.submit(EXECUTORS * SLOTS, PHASE_S)
        if busy:
            with every_core_busy():
                self.wait_status(ids, ("completed", "failed"))
        else:
            self.wait_status(ids, ("completed", "failed"))
        rows = self.sql(
            "SELECT job_id, attempt, at FROM public.bench_leases WHERE at > $1 "
            "AND status = 'running' AND expires IS NOT NULL ORDER BY job_id, attempt, at",
            since,
        )
        lateness: list[float] = []
        for before, after in itertools.pairwise(rows):
            if (before["job_id"], before["attempt"]) == (after["job_id"], after["attempt"]):
                lateness.append((after["at"] - before["at"]).total_seconds() - self.renew_s)
        lost = self.sql(
            "SELECT count(*) AS n FROM queue.jobs WHERE id = ANY($1) AND reason = 'executor lost'",
            [uuid.UUID(i) for i in ids],
        )[0]["n"]
        return lateness, int(lost)

    def kills(self, rounds: int) -> tuple[list[float], list[float]]:
        """Per job: kill → transition, and last renewal → transition (database clock)."""
        from_kill: list[float] = []
        from_renewal: list[float] = []
        for _ in range(rounds):
            self.stack.revive()
            ids = self.submit(EXECUTORS * SLOTS, 600)
            self.wait_status(ids, ("running",))
            time.sleep(self.renew_s * 1.5)  # a renewal or so after the claims
            killed: datetime = self.sql("SELECT clock_timestamp() AS t")[0]["t"]
            for index in range(EXECUTORS):
                proc = self.stack.service(f"executor-{index}").proc
                assert proc is not None
                os.kill(proc.pid, signal.SIGKILL)
            self.wait_status(ids, ("failed", "queued", "completed", "cancelled"))
            for job_id in ids:
                job = uuid.UUID(job_id)
                (left,) = self.sql(
                    "SELECT at FROM public.bench_leases WHERE job_id = $1 "
                    "AND status <> 'running' ORDER BY at DESC LIMIT 1",
                    job,
                )
                (renewed,) = self.sql(
                    "SELECT expires FROM public.bench_leases WHERE job_id = $1 "
                    "AND status = 'running' AND expires IS NOT NULL ORDER BY at DESC LIMIT 1",
                    job,
                )
                from_kill.append((left["at"] - killed).total_seconds())
                from_renewal.append(
                    (left["at"] - (renewed["expires"] - self.lease)).total_seconds()
                )
        self.stack.revive()
        return from_kill, from_renewal


def ms(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct) * 1000:.0f}" if values else "-"


def s(values: list[float], pct: float) -> str:
    return f"{percentile(values, pct):.2f}" if values else "-"


def measure(env: dict[str, str]) -> tuple[str, ...]:
    stack = Stack(
        StackConfig(
            data_dir=new_data_dir(),
            gateway_port=free_port(),
            admin_token="bench",
            durable=False,
            executors=EXECUTORS,
            executor_slots=SLOTS,
            env={"RUNWRIGHT_SUBMIT_RATE_CALLER": "1000000", **env},
        )
    )
    stack.start()
    try:
        bench = Bench(stack, env)
        bench.execute(RECORDER)
        idle, _ = bench.phase(busy=False)
        busy, false_alarms = bench.phase(busy=True)
        from_kill, from_renewal = bench.kills(max(1, KILLS // EXECUTORS))
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
    return (
        f"{s(from_kill, 50)} / {s(from_kill, 100)}",
        f"{s(from_renewal, 50)} / {s(from_renewal, 100)}",
        f"{ms(idle, 50)} / {ms(idle, 99)} / {ms(idle, 100)}",
        f"{ms(busy, 50)} / {ms(busy, 99)} / {ms(busy, 100)}",
        f"{false_alarms} of {EXECUTORS * SLOTS}",
        f"{len(from_kill)} jobs, {len(idle)}+{len(busy)} renewals",
    )


def run() -> str:
    rows = [(name, *measure(env)) for name, env in TIMINGS]
    return table(
        f"failure detection ({KILLS} executor kills per timing, {EXECUTORS} executors x {SLOTS} "
        f"slots; busy: {(os.cpu_count() or 1) + 1} busy-loop processes on {os.cpu_count()} cores)",
        rows,
        (
            "timing",
            "kill->out of running s p50/max",
            "last renewal->out s p50/max",
            "renewal lateness idle ms p50/p99/max",
            "busy ms p50/p99/max",
            "false alarms (busy)",
            "samples",
        ),
    )
