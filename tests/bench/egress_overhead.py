"""The egress check's cost: the 20-step runbook of the engine benchmark, run by the engine in a
context behind the executor's filtering proxy (policy on) and in a plain context (policy off), in
the same run, same browser, paired rounds."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from playwright.async_api import Browser, async_playwright
from runwright_engine.browser import launch
from runwright_engine.egress.contexts import guarded_context
from runwright_engine.egress.policy import EgressPolicy
from runwright_engine.egress.proxy import EgressProxy
from runwright_engine.engine import Engine
from runwright_runbook import parse_runbook

from tests.bench.engine_overhead import document
from tests.bench.stats import table

ROUNDS = 25
VIEWPORT = {"width": 1280, "height": 720}


async def timed(browser: Browser, base: str, files: Path, proxy: EgressProxy | None) -> float:
    runbook = parse_runbook(document(base))
    started = time.perf_counter()
    if proxy is None:
        context = await browser.new_context(viewport=VIEWPORT)
        outcome = await Engine(context, runbook, files_dir=files, env={}).run()
        await context.close()
    else:
        async with guarded_context(browser, proxy, "bench", viewport=VIEWPORT) as (
            context,
            violations,
        ):
            outcome = await Engine(
                context, runbook, files_dir=files, env={}, egress=violations
            ).run()
    elapsed = time.perf_counter() - started
    failed = [r for r in outcome.results if r.status != "success"]
    assert not failed, failed[0].error
    return elapsed


async def measure(base: str) -> tuple[list[float], list[float], int]:
    off: list[float] = []
    on: list[float] = []
    policy = EgressPolicy.parse(base.removeprefix("http://"))
    proxy = await EgressProxy(policy).start()
    with tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp)
        async with async_playwright() as playwright:
            browser = await launch(playwright)
            await timed(browser, base, files, None)  # warm-up, both paths
            await timed(browser, base, files, proxy)
            for index in range(ROUNDS):  # paired rounds, alternating which goes first
                order = (proxy, None) if index % 2 else (None, proxy)
                for which in order:
                    (on if which is not None else off).append(
                        await timed(browser, base, files, which)
                    )
            await browser.close()
    await proxy.close()
    return off, on, proxy.blocked


def run_with(base: str) -> str:
    off, on, blocked = asyncio.run(measure(base))
    f, n = statistics.median(off) * 1000, statistics.median(on) * 1000
    rows = [
        ("policy off (plain context)", f"{ROUNDS}", f"{f:.0f}", f"{min(off) * 1000:.0f}"),
        ("policy on (through the proxy)", f"{ROUNDS}", f"{n:.0f}", f"{min(on) * 1000:.0f}"),
        ("ratio (on / off)", "", f"{n / f:.3f}", f"{min(on) / min(off):.3f}"),
    ]
    return table(
        f"20-step runbook with the egress policy on and off (ms; target ratio <= 1.05; "
        f"{blocked} blocked)",
        rows,
        ("measure", "runs", "median", "best"),
    )
