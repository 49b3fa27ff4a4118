"""One soak: the workload and the fault driver together on a running, supervised stack, then a
settle period, then the checker; the outcome as a table."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import asyncpg
from runwright_stack.stack import Stack

from tests.soak import stack_hooks
from tests.soak.api import Api
from tests.soak.checker import Findings, Scope, check
from tests.soak.faults import FaultDriver
from tests.soak.receiver import Receiver
from tests.soak.workload import Workload, WorkspaceFollower, plain


@dataclass
class Options:
    jobs: int = 1000
    faults: int = 60
    max_duration_s: float = 3 * 3600
    """The run phase ends at this, whatever was reached."""
    settle_s: float = 300
    seed: int = field(default_factory=lambda: random.SystemRandom().randrange(1 << 30))
    interval_s: tuple[float, float] = (10.0, 20.0)
    plan: list[str] = field(default_factory=list)
    """Faults to inject first (``FaultDriver.plan``), to repeat what a run found."""
    concurrency: int = 0
    """Jobs in flight at once (0: three per executor slot)."""
    restart_postgres: bool = True
    """Restart PostgreSQL once, half way through the faults."""


@dataclass
class Outcome:
    options: Options
    findings: Findings
    driver: FaultDriver
    workload: Workload
    api: Api
    run_s: float
    settle_s: float
    shape: str = ""

    @property
    def ok(self) -> bool:
        return self.findings.ok

    def table(self) -> str:
        lines = [
            f"Chaos soak, seed {self.options.seed}: {self.run_s:.0f} s under faults, "
            f"settled in {self.settle_s:.0f} s",
            f"Shape: {self.shape}",
        ]
        lines.append("")
        lines.append(f"{'Faults injected':<60} {'count':>8}")
        for kind, n in sorted(self.driver.counts.items()):
            lines.append(f"  {kind:<58} {n:>8}")
        lines.append(f"  {'total':<58} {len(self.driver.log):>8}")
        records = self.workload.records
        lines.append("")
        lines.append(f"{'Jobs the clients submitted (answered 201)':<60} {len(records.jobs):>8}")
        by_kind: dict[str, int] = {}
        for kind in records.jobs.values():
            by_kind[kind] = by_kind.get(kind, 0) + 1
        for kind, n in sorted(by_kind.items()):
            lines.append(f"  {kind:<58} {n:>8}")
        for name, value in self.findings.facts.items():
            lines.append(f"{name:<60} {value!s:>8}")
        lines.append(
            f"{'submissions whose answer a fault lost (retried)':<60} {records.lost_answers:>8}"
        )
        lines.append(f"{'client retries by cause':<60} {dict(self.api.retries)!s:>8}")
        lines.append(f"{'decisions sent (action status: n)':<60} {dict(records.actions)!s:>8}")
        lines.append("")
        lines.append(f"{'Property':<70} {'figure':>7}  checked")
        bad = [
            ("submissions answered 4xx", sum(records.refused.values())),
            ("calls given up (no gateway answered)", sum(records.gave_up.values())),
            ("answers 500 (not 502-504)", sum(self.api.server_errors.values())),
        ]
        for name, figure in bad:
            lines.append(f"{name:<70} {figure:>7}  {'ok' if figure == 0 else 'FAILED'}")
        for prop in self.findings.properties:
            verdict = "ok" if prop.holds else "FAILED"
            lines.append(f"{prop.name:<70} {prop.figure:>7}  {verdict} {prop.of}")
            lines.extend(f"      e.g. {example}" for example in prop.examples)
        if self.api.server_errors:
            lines.append(f"500s: {dict(self.api.server_errors)}")
        return "\n".join(lines)

    @property
    def passed(self) -> bool:
        records = self.workload.records
        return (
            self.findings.ok
            and not records.refused
            and not records.gave_up
            and not self.api.server_errors
        )


def say(text: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S', time.gmtime())}Z] {text}", flush=True)


async def soak(stack: Stack, options: Options) -> Outcome:
    rng = random.Random(options.seed + 1)  # noqa: S311 - seeded, so a run can be repeated
    say(f"seed {options.seed}; {options.jobs} jobs, {options.faults} faults")
    api = Api(lambda: stack_hooks.gateway_urls(stack), stack.token, rng, patience_s=180)
    demo = f"http://127.0.0.1:{stack.config.demo_port}"
    slots = stack.config.executor_slots * len(stack_hooks.executors(stack))
    workload = Workload(api, demo, rng, options.concurrency or 3 * slots)
    conn = await asyncpg.connect(stack.database_url)
    since: datetime = await conn.fetchval("SELECT now()")
    await conn.close()
    with Receiver() as receiver:
        hook = await api.call(
            "POST",
            "/api/v1/webhooks",
            json_body={"url": receiver.url, "events": ["job.finished", "approval.requested"]},
        )
        assert hook.status_code == 201, hook.text
        ready = []
        for name in ("A", "B"):
            follower = WorkspaceFollower(name)
            workload.records.workspace.append(follower)
            event = asyncio.Event()
            ready.append(event)
            workload.spawn(workload.follow_workspace(follower, event), workload.follow_tasks)
        for event in ready:
            await asyncio.wait_for(event.wait(), 60)
        schedule = await api.call(
            "POST",
            "/api/v1/schedules",
            json_body={
                "name": "Soak: every minute",
                "cron": "* * * * *",
                "timezone": "UTC",
                "overlap": "allow",
                "runbook": plain(demo),
            },
        )
        assert schedule.status_code == 201, schedule.text
        schedule_id = schedule.json()["id"]
        schedule_from = datetime.fromisoformat(schedule.json()["next_fire_at"])

        # Its own generator: the same seed gives the same faults at the same times.
        driver = FaultDriver(
            stack,
            random.Random(options.seed),  # noqa: S311 - seeded, so a run can be repeated
            options.interval_s,
            plan=list(options.plan),
        )
        driver.postgres_at = max(1, options.faults // 2) if options.restart_postgres else -1
        stop_faults = asyncio.Event()
        faults = asyncio.create_task(driver.run(stop_faults))
        started = time.monotonic()
        last_said = started
        while (
            workload.submitted < options.jobs or len(driver.log) < options.faults
        ) and time.monotonic() - started < options.max_duration_s:
            await workload.next_job()
            if time.monotonic() - last_said > 30:
                last_said = time.monotonic()
                say(f"{workload.submitted} jobs submitted, {len(driver.log)} faults")
        stop_faults.set()
        await faults
        run_s = time.monotonic() - started
        say(f"run phase over: {workload.submitted} jobs, {len(driver.log)} faults; settling")

        # Every process back up (the supervisor's work), then stop the schedule: each minute
        # up to half a minute before it was paused must have fired once.
        while not _all_up(stack):  # the supervisor's thread starts them
            await asyncio.sleep(0.5)
            continue
        paused_at: datetime = datetime.now(schedule_from.tzinfo)
        response = await api.call(
            "PATCH", f"/api/v1/schedules/{schedule_id}", json_body={"paused": True}
        )
        assert response.status_code == 200, response.text
        scope = Scope(
            since=since,
            webhook_id=hook.json()["id"],
            schedule_id=schedule_id,
            schedule_from=schedule_from,
            schedule_until=paused_at.replace(microsecond=0) - timedelta(seconds=30),
        )
        settle_started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_drain(workload.tasks), options.settle_s)
        while True:
            findings = await check(stack.database_url, api, workload.records, receiver, scope)
            if findings.ok or time.monotonic() - settle_started > options.settle_s:
                break
            if time.monotonic() - last_said > 30:
                last_said = time.monotonic()
                failing = [f"{p.name}: {p.figure}" for p in findings.properties if not p.holds]
                say(f"settling; not yet: {'; '.join(failing)}")
            await asyncio.sleep(5)
        settle_s = time.monotonic() - settle_started
        workload.stopping.set()
        for task in list(workload.tasks | workload.follow_tasks):
            task.cancel()
        await asyncio.gather(*workload.tasks, *workload.follow_tasks, return_exceptions=True)
    await api.close()
    return Outcome(options, findings, driver, workload, api, run_s, settle_s, shape(stack))


def shape(stack: Stack) -> str:
    names = stack_hooks.services(stack)
    return (
        f"{len(stack_hooks.nats_nodes(stack))} NATS node(s), "
        f"{len(stack_hooks.gateway_urls(stack))} gateway(s), "
        f"{len(stack_hooks.executors(stack))} executor(s), {len(names)} service processes"
    )


async def _drain(tasks: set[asyncio.Task[None]]) -> None:
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)


def _all_up(stack: Stack) -> bool:
    nodes = stack_hooks.nats_nodes(stack)
    return all(n.alive() for n in nodes) and all(
        c.alive() for c in stack_hooks.services(stack).values()
    )
