"""Real executors scaling: jobs per minute with 1, 2 and 4 executor processes (one browser slot
each) on this machine, beside as many plain Playwright worker processes running the same steps.

The job is the engine benchmark's 20-step runbook on the fixture app (``engine_overhead``). For
each count, a stack with that many executors gets a backlog far longer than it can finish; jobs
finished in a window after a warm-up are counted (``finished_at`` in ``queue.jobs``). Then as many
processes, each with its own Chromium, run the same 20 actions written with Playwright's own
locators in a fresh context each time, counted in a window of the same length.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import time
from multiprocessing.queues import Queue
from typing import Any

import asyncpg
import httpx
from playwright.async_api import async_playwright
from runwright_engine.browser import launch
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack, StackConfig

from tests.bench.engine_overhead import document, plain_script
from tests.bench.stats import table
from tests.support.stack import new_data_dir

COUNTS = (1, 2, 4)
WARM_S = 10.0
WINDOW_S = 40.0


def executor_stack(count: int) -> Stack:
    return Stack(
        StackConfig(
            data_dir=new_data_dir(),
            gateway_port=free_port(),
            admin_token="bench",
            durable=True,
            executors=count,
            executor_slots=1,
            env={
                "RUNWRIGHT_EGRESS_ALLOW": "127.0.0.1",
                "RUNWRIGHT_SUBMIT_RATE_WORKSPACE": "1000000",
                "RUNWRIGHT_SUBMIT_RATE_CALLER": "1000000",
                "RUNWRIGHT_LOG_LEVEL": "warning",
            },
        )
    )


async def finished_between(url: str, start: float, end: float) -> tuple[int, int]:
    db = await asyncpg.connect(url)
    try:
        row = await db.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'completed') AS done, "
            "count(*) FILTER (WHERE status <> 'completed') AS other FROM queue.jobs "
            "WHERE finished_at >= to_timestamp($1) AND finished_at < to_timestamp($2)",
            start,
            end,
        )
    finally:
        await db.close()
    assert row is not None
    return int(row["done"]), int(row["other"])


async def executors_round(stack: Stack, base: str, backlog: int) -> tuple[float, int]:
    """Jobs completed per minute in the window, and jobs that ended otherwise."""
    body = {"runbook": document(base)}
    headers = {"Authorization": f"Bearer {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=30) as api:
        started = time.time()
        for _ in range(backlog):
            (await api.post("/api/v1/jobs", json=body)).raise_for_status()
    await asyncio.sleep(max(0.0, started + WARM_S - time.time()))
    start = time.time()
    await asyncio.sleep(WINDOW_S)
    done, other = await finished_between(stack.database_url, start, start + WINDOW_S)
    return done * 60 / WINDOW_S, other


def plain_worker(base: str, seconds: float, out: Queue[Any]) -> None:
    """One process, one Chromium: the same actions in a fresh context, again and again."""

    async def work() -> list[float]:
        finished: list[float] = []
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            stop_at = time.time() + seconds
            while time.time() < stop_at:
                context = await browser.new_context(viewport={"width": 1280, "height": 720})
                page = await context.new_page()
                await plain_script(page, base)
                await context.close()
                finished.append(time.time())
            await browser.close()
        return finished

    out.put(asyncio.run(work()))


def plain_round(base: str, count: int) -> float:
    spawn = multiprocessing.get_context("spawn")
    out: Queue[Any] = spawn.Queue()
    started = time.time()
    workers = [
        spawn.Process(target=plain_worker, args=(base, WARM_S + WINDOW_S + 5, out))
        for _ in range(count)
    ]
    for worker in workers:
        worker.start()
    stamps = [t for _ in workers for t in out.get(timeout=WARM_S + WINDOW_S + 120)]
    for worker in workers:
        worker.join(30)
    start = started + WARM_S
    done = sum(1 for t in stamps if start <= t < start + WINDOW_S)
    return done * 60 / WINDOW_S


def run_with(base: str) -> str:
    rows: list[tuple[str, ...]] = []
    for count in COUNTS:
        stack = executor_stack(count)
        try:
            stack.start(ready_timeout=180)
            ours, other = asyncio.run(executors_round(stack, base, backlog=60 * count))
        finally:
            stack.stop(grace_s=5)
            shutil.rmtree(stack.data_dir, ignore_errors=True)
        plain = plain_round(base, count)
        rows.append(
            (
                str(count),
                f"{ours:.1f}" + (f" ({other} not completed)" if other else ""),
                f"{plain:.1f}",
                f"{ours / plain:.2f}" if plain else "-",
            )
        )
    return table(
        f"executor scaling: jobs/min of the 20-step runbook, {WINDOW_S:.0f} s windows after "
        f"{WARM_S:.0f} s warm-up, one browser slot per process; this machine has "
        f"{os.cpu_count()} cores (shared with other work)",
        rows,
        ("processes", "Runwright executors", "plain Playwright workers", "ratio"),
    )
