"""Spare browser contexts in real Chromium: one ready per free slot, each with a blank page, given
to exactly one job, isolated like a fresh one (no cookies, storage or history of an earlier job),
behind the egress proxy under the job that took it, and replaced after the job."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser
from runwright_engine.egress.contexts import Spares, guarded_context
from runwright_engine.egress.policy import EgressPolicy
from runwright_engine.egress.proxy import EgressProxy
from runwright_engine.engine import Engine
from runwright_runbook import parse_runbook
from support.runbooks import runbook
from support.threaded_server import serving
from test_egress_browser import extract, port, site

pytestmark = pytest.mark.asyncio(loop_scope="module")
OPTIONS: dict[str, Any] = {"viewport": {"width": 1280, "height": 720}, "accept_downloads": True}


@pytest.fixture(scope="module")
def sites() -> Iterator[dict[str, str]]:
    with (
        serving(site("allowed"), "allowed") as allowed,
        serving(site("denied"), "denied") as denied,
    ):
        yield {"allowed": allowed, "denied": denied}


@pytest_asyncio.fixture(loop_scope="module")
async def proxy(sites: dict[str, str]) -> AsyncIterator[EgressProxy]:
    egress = await EgressProxy(EgressPolicy.parse(f"127.0.0.1:{port(sites['allowed'])}")).start()
    yield egress
    await egress.close()


async def filled(spares: Spares, count: int) -> None:
    for _ in range(200):
        if len(spares) == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{len(spares)} spares ready, expected {count}")


async def test_a_job_takes_a_ready_context_that_no_earlier_job_touched(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    spares = Spares(browser, proxy, 2, **OPTIONS)
    spares.fill()
    try:
        await filled(spares, 2)
        stored = ""
        async with guarded_context(browser, proxy, "job-a", spares, **OPTIONS) as (context, _):
            assert spares.taken == 1
            assert len(spares) == 1, "a busy slot keeps no spare"
            (page,) = context.pages
            assert page.url == "about:blank"
            await page.goto(sites["allowed"])
            await context.add_cookies([{"name": "who", "value": "a", "url": sites["allowed"]}])
            await page.evaluate("localStorage.setItem('who', 'a')")
            stored = await page.evaluate("localStorage.getItem('who')")
        assert stored == "a"
        assert not context.pages, "the job's context is closed with the job"
        await filled(spares, 2)
        async with guarded_context(browser, proxy, "job-b", spares, **OPTIONS) as (context, _):
            assert spares.taken == 2
            (page,) = context.pages
            await page.goto(sites["allowed"])
            assert await context.cookies() == []
            assert await page.evaluate("localStorage.getItem('who')") is None
            assert await page.evaluate("history.length") == 2  # about:blank, then this page
    finally:
        await spares.close()
    assert len(spares) == 0


async def test_a_spare_goes_through_the_proxy_as_the_job_that_took_it(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    spares = Spares(browser, proxy, 1, **OPTIONS)
    spares.fill()
    try:
        await filled(spares, 1)
        document = runbook(
            [extract("() => fetch('" + sites["denied"] + "').then(() => 'got', () => 'failed')")],
            start_url=sites["allowed"],
            timeout_ms=8000,
        )
        async with guarded_context(browser, proxy, "job-egress", spares, **OPTIONS) as (
            context,
            violations,
        ):
            assert spares.taken == 1
            engine = Engine(
                context, parse_runbook(document), files_dir=tmp_path, env={}, egress=violations
            )
            outcome = await engine.run()
        assert outcome.status == "failed"
        error = outcome.results[0].error
        assert error is not None
        assert error.kind == "Egress blocked", error
        assert f"127.0.0.1:{port(sites['denied'])}" in error.message
        assert proxy.blocked >= 1
    finally:
        await spares.close()


async def test_with_no_spares_a_job_makes_its_own_context(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str]
) -> None:
    spares = Spares(browser, proxy, 0, **OPTIONS)
    spares.fill()
    async with guarded_context(browser, proxy, "job-c", spares, **OPTIONS) as (context, _):
        assert spares.taken == 0
        page = await context.new_page()
        await page.goto(sites["allowed"])
        assert await page.title() == "allowed"
    await spares.close()
