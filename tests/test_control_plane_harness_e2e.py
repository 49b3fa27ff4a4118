"""The control-plane load harness at a tiny load: simulated executors, speaking the executor's
protocol over the real NATS to the real queue, run jobs to ``completed``, and the gateway's SSE
streams carry their step events (``make bench BENCH_ARGS=controlplane`` runs it at full load)."""

from __future__ import annotations

import asyncio
import shutil

import asyncpg

from tests.bench.controlplane import Plan, measure, simulated_stack
from tests.support.sim_fleet import FleetConfig

TINY = Plan(
    rates=(4,),
    level_s=3,
    steps=2,
    step_ms=50,
    hold_target=10,
    hold_block=10,
    hold_budget_s=60,
    job_streams=2,
    baseline_messages=200,
    fleet=FleetConfig(processes=2, slots=20, lease_ms=3_000, renew_ms=1_000),
)


async def statuses(url: str, ids: list[str]) -> dict[str, str]:
    db = await asyncpg.connect(url)
    try:
        rows = await db.fetch(
            "SELECT id::text, status FROM queue.jobs WHERE id = ANY($1::uuid[])", ids
        )
    finally:
        await db.close()
    return {r["id"]: r["status"] for r in rows}


def test_simulated_executors_run_jobs_to_completed_on_the_real_stack() -> None:
    stack = simulated_stack(TINY)
    try:
        stack.start(ready_timeout=120)
        result = asyncio.run(measure(stack, TINY))
        finished = asyncio.run(statuses(stack.database_url, result.throughput_ids))
    finally:
        stack.stop(grace_s=5)
        shutil.rmtree(stack.data_dir, ignore_errors=True)
    assert result.throughput_ids, "no job was submitted"
    assert set(finished.values()) == {"completed"}, finished
    assert len(finished) == len(result.throughput_ids)
    # Every step of every job reached the workspace stream (each job's two steps).
    assert result.step_events_seen[0] >= 2 * len(result.throughput_ids)
    # The long jobs all run at once, holding their leases.
    assert result.hold[0]["running"] == TINY.hold_target
    assert result.hold[0]["lost"] == 0
    assert result.dispatch_floor > 0
