"""Density: ten-step jobs (the demo sign-in, twice) on one executor at 1, 2, 4 and 8 slots:
how many complete, jobs per minute, and the memory each running job adds (PSS of the executor
and its browser, peak while full minus idle).

Baseline, in the same run on the same demo app: the same ten actions as a plain Playwright loop
with as many contexts at once, one fresh context per job.
"""

from __future__ import annotations

import asyncio
import copy
import os
import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import psutil
import yaml
from playwright.async_api import async_playwright
from runwright_engine.browser import launch
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack, StackConfig

from tests.bench.stats import table
from tests.support.runbooks import example
from tests.support.stack import new_data_dir

SLOTS = (1, 2, 4, 8)
JOBS_PER_SLOT = 3
CREDENTIALS = {"email": "bench@example.com", "password": "demo"}


def ten_steps(demo: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(example("login.yaml", demo))
    document["settings"]["pauseBetweenSteps"] = 0
    again = copy.deepcopy(document["steps"])
    for offset, step in enumerate(again):
        step["ordinal"] = len(document["steps"]) + offset
    document["steps"] += again
    document["metadata"]["totalSteps"] = len(document["steps"])
    return document


def tree_pss_mb(pid: int) -> float:
    return _pss_mb(psutil.Process(pid))


def driver_pss_mb() -> float:
    """The Playwright driver and its browser, started by this process (not the other children a
    benchmark run may have, such as the shared stack)."""
    total = 0.0
    for child in psutil.Process(os.getpid()).children():
        try:
            if "playwright" in " ".join(child.cmdline()):
                total += _pss_mb(child)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _pss_mb(root: psutil.Process) -> float:
    total = 0
    for process in [root, *root.children(recursive=True)]:
        try:
            total += process.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total / (1 << 20)


class Peak:
    """The highest PSS a process tree reaches while the block runs (sampled 4 times a second)."""

    def __init__(self, measure: Callable[[], float]) -> None:
        self.measure, self.peak, self._stop = measure, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, self.measure())

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


MISSED: list[str] = []


def _why(api: httpx.Client, job_id: str, status: str) -> str:
    """One line on a job that did not complete: its status, its error and the step it was on."""
    job = api.get(f"/api/v1/jobs/{job_id}").json()
    steps = job.get("steps", [])
    failed = [s for s in steps if s.get("status") == "failed"]
    started = [s for s in steps if s.get("status") not in ("completed", "pending", "skipped")]
    if not failed and not started:
        return f"{job_id}: {status} ({job.get('reason')}), no step started"
    last = (failed or started)[-1]
    return (
        f"{job_id}: {status} ({job.get('reason')}), step {last.get('ordinal')} "
        f"{last.get('action_type')} {last.get('status')} after {last.get('duration_ms')} ms, "
        f"{last.get('retries')} retries: {last.get('error')}"
    )


def ours(slots: int) -> tuple[int, int, float, float, float]:
    """(completed, submitted, jobs per minute, idle MB, peak MB) of the executor's tree."""
    stack = Stack(
        StackConfig(
            data_dir=new_data_dir(),
            gateway_port=free_port(),
            admin_token="bench",
            demo_port=free_port(),
            executor_slots=slots,
            env={"RUNWRIGHT_EGRESS_ALLOW": "127.0.0.1"},
        )
    )
    stack.start()
    try:
        executor = stack.children["executor-0"].proc
        assert executor is not None
        document = ten_steps(f"http://127.0.0.1:{stack.config.demo_port}")
        time.sleep(2)
        idle = tree_pss_mb(executor.pid)
        jobs = slots * JOBS_PER_SLOT
        headers = {"Authorization": "Bearer bench"}
        with (
            httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=60) as api,
            Peak(lambda: tree_pss_mb(executor.pid)) as peak,
        ):
            started = time.monotonic()
            ids = []
            for _ in range(jobs):
                body = {"runbook": document, "variables": CREDENTIALS}
                created = api.post("/api/v1/jobs", json=body)
                created.raise_for_status()
                ids.append(created.json()["id"])
            statuses: list[str] = []
            while time.monotonic() - started < 600:
                statuses = [api.get(f"/api/v1/jobs/{i}").json()["status"] for i in ids]
                if all(s in ("completed", "failed", "cancelled") for s in statuses):
                    break
                time.sleep(0.5)
            elapsed = time.monotonic() - started
            for job_id, status in zip(ids, statuses, strict=True):
                if status != "completed":
                    MISSED.append(_why(api, job_id, status))
        completed = statuses.count("completed")
        return completed, jobs, jobs / elapsed * 60, idle, peak.peak
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


async def _plain(slots: int, demo: str) -> tuple[int, int, float, float, float]:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        await asyncio.sleep(1)
        idle = driver_pss_mb()
        jobs = slots * JOBS_PER_SLOT
        queue: asyncio.Queue[int] = asyncio.Queue()
        for n in range(jobs):
            queue.put_nowait(n)
        done = 0

        async def worker() -> None:
            nonlocal done
            while not queue.empty():
                queue.get_nowait()
                context = await browser.new_context(viewport={"width": 1280, "height": 720})
                try:
                    page = await context.new_page()
                    for _ in range(2):
                        await page.goto(f"{demo}/login")
                        await page.fill("#email", CREDENTIALS["email"])
                        await page.fill("#password", CREDENTIALS["password"])
                        await page.click("button:has-text('Sign In')")
                        await page.wait_for_selector("table#orders", state="visible")
                    done += 1
                finally:
                    await context.close()

        with Peak(driver_pss_mb) as peak:
            started = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(slots)), return_exceptions=True)
            elapsed = time.monotonic() - started
        await browser.close()
        return done, jobs, jobs / elapsed * 60, idle, peak.peak


def plain(slots: int) -> tuple[int, int, float, float, float]:
    import subprocess
    import sys

    from runwright_stack.ports import wait_for_port

    port = free_port()
    demo = subprocess.Popen(
        [sys.executable, "-m", "runwright_demo", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 30)
        return asyncio.run(_plain(slots, f"http://127.0.0.1:{port}"))
    finally:
        demo.terminate()
        demo.wait(10)


def run() -> str:
    rows = []
    for slots in SLOTS:
        done, jobs, rate, idle, peak = ours(slots)
        p_done, p_jobs, p_rate, p_idle, p_peak = plain(slots)
        rows.append(
            (
                str(slots),
                f"{done}/{jobs}",
                f"{rate:.1f}",
                f"{idle:.0f} / {peak:.0f}",
                f"{(peak - idle) / slots:.0f}",
                f"{p_done}/{p_jobs}",
                f"{p_rate:.1f}",
                f"{p_idle:.0f} / {p_peak:.0f}",
                f"{(p_peak - p_idle) / slots:.0f}",
                f"{rate / p_rate:.2f}",
            )
        )
    missed = "".join(f"\n  not completed: {line}" for line in MISSED)
    return (
        missed.lstrip("\n")
        + ("\n" if missed else "")
        + table(
            "ten-step jobs on one executor: jobs per minute, PSS (MB) of the executor and browser "
            "idle / peak (Runwright's: the executor process, its browser and one spare context per "
            "slot; Playwright's: its driver and browser), added per slot",
            rows,
            (
                "slots",
                "Runwright done",
                "jobs/min",
                "MB idle / peak",
                "MB/slot",
                "Playwright done",
                "jobs/min",
                "MB idle / peak",
                "MB/slot",
                "ratio jobs/min",
            ),
        )
    )
