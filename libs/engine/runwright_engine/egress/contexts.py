"""A browser context whose every connection goes through the egress proxy, under one job's
identity, with the blocks it meets collected for the engine to fail steps with.

``Spares`` keeps such contexts ready, each with a blank page, one per free slot: a claimed job
takes one instead of waiting for a context and page to be created. A spare has visited nothing,
is given to exactly one job and is closed with it; a new one is made when a slot frees up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from playwright.async_api import Browser, BrowserContext
from runwright_common import metrics
from runwright_common.logging import get_logger, logged_failure

from runwright_engine.egress.guard import Violations
from runwright_engine.egress.proxy import ContextEgress, EgressProxy

log = get_logger("runwright.egress")


@dataclass
class Spare:
    """A context made ahead of time: its identity at the proxy, its blocks, its blank page."""

    identity: ContextEgress
    violations: Violations
    context: BrowserContext


async def _new(browser: Browser, proxy: EgressProxy, job_id: str, options: dict[str, Any]) -> Spare:
    violations = Violations()
    identity = proxy.register(job_id, violations.blocked)
    try:
        context = await browser.new_context(**options, proxy=identity.proxy_settings(proxy.server))
    except BaseException:
        proxy.unregister(identity)
        raise
    metrics.browser_contexts(+1)
    return Spare(identity, violations, context)


class Spares:
    """Up to ``limit`` ready contexts (each with a blank page), for jobs to take."""

    def __init__(self, browser: Browser, proxy: EgressProxy, limit: int, **options: Any) -> None:
        self.browser, self.proxy, self.limit, self.options = browser, proxy, limit, options
        self._ready: list[Spare] = []
        self._making = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.in_use = 0
        """Contexts jobs hold now: spares are kept for the slots that are free."""
        self.made = 0
        self.taken = 0

    def __len__(self) -> int:
        return len(self._ready)

    def fill(self) -> None:
        """Start making spares until ``limit`` are ready or being made (returns at once)."""
        while (
            self.limit - self.in_use > len(self._ready) + self._making
            and self.browser.is_connected()
        ):
            self._making += 1
            task = asyncio.get_running_loop().create_task(self._make())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _make(self) -> None:
        try:
            with logged_failure(log, "spare browser context not made"):
                spare = await _new(self.browser, self.proxy, "spare", self.options)
                try:
                    await spare.context.new_page()
                except BaseException:
                    await _close(spare, self.proxy)
                    raise
                self._ready.append(spare)
                self.made += 1
        finally:
            self._making -= 1

    async def warmed(self, timeout: float) -> bool:
        """Until the first spares are ready (an executor takes work warm), or ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self._ready) < self.limit - self.in_use and self._making:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def take(self, job_id: str) -> Spare | None:
        """A ready spare, now this job's (None when none is ready: make one the usual way)."""
        while self._ready:
            spare = self._ready.pop(0)
            if spare.context.pages and not spare.context.pages[0].is_closed():
                spare.identity.job_id = job_id
                self.taken += 1
                return spare
            task = asyncio.get_running_loop().create_task(_close(spare, self.proxy))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return None

    async def close(self) -> None:
        self.limit = 0
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        while self._ready:
            await _close(self._ready.pop(), self.proxy)


async def _close(spare: Spare, proxy: EgressProxy) -> None:
    """Close the context and drop its identity at the proxy."""
    try:
        with logged_failure(log, "browser context not closed", job_id=spare.identity.job_id):
            await spare.context.close()
    finally:
        proxy.unregister(spare.identity)
        metrics.browser_contexts(-1)


@contextlib.asynccontextmanager
async def guarded_context(
    browser: Browser,
    proxy: EgressProxy,
    job_id: str,
    spares: Spares | None = None,
    *,
    workspace: str = "",
    **options: Any,
) -> AsyncIterator[tuple[BrowserContext, Violations]]:
    """A context of ``browser`` (``options`` as for ``new_context``) behind ``proxy``, a spare
    when one is ready; it is closed, and its identity at the proxy dropped, on the way out, and
    the spares are topped up again."""
    spare = spares.take(job_id) if spares is not None else None
    if spares is not None:
        spares.in_use += 1
        if spare is None and spares.limit:
            log.info("no spare browser context ready; making one", job_id=job_id)
    try:
        if spare is None:
            spare = await _new(browser, proxy, job_id, options)
        spare.identity.workspace = workspace  # what its blocks are counted under
        try:
            yield spare.context, spare.violations
        finally:
            await _close(spare, proxy)
    finally:
        if spares is not None:
            spares.in_use -= 1
            spares.fill()
