"""Fixtures that start real parts: the whole stack (nats-server, PostgreSQL, six services,
Chromium) once per test session, and clients authenticated against its gateway (plain httpx, and
the typed runwright_client)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import nats
import pytest
import pytest_asyncio
from fixture_app.server import running_fixture_app
from nats.aio.client import Client
from playwright.async_api import Browser, Page, async_playwright
from runwright_bus import connect
from runwright_client import Runwright
from runwright_db import create_pool
from runwright_engine.browser import launch
from runwright_proto.jobs import JOB_STATUSES, TERMINAL
from runwright_scheduler.firing import Firing
from runwright_stack.nats_server import NatsServer
from runwright_stack.stack import Stack
from support.stack import running_stack


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A bare nats-server with JetStream of the module's own (no users, no stack)."""
    root = tmp_path_factory.mktemp("nats")
    running = NatsServer(root, root)
    running.start()
    yield running
    running.stop()


@pytest_asyncio.fixture
async def nats_client(nats_server: NatsServer) -> AsyncIterator[Client]:
    """A plain client of that bare nats-server."""
    client = await nats.connect(nats_server.url)
    yield client
    await client.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(tmp_path_factory) as started:
        yield started


@pytest.fixture
def api(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=stack.gateway_url, timeout=30, headers={"Authorization": f"Bearer {stack.token}"}
    ) as client:
        yield client


@pytest.fixture
def client(stack: Stack) -> Iterator[Runwright]:
    """The typed client (runwright_client) on the stack's gateway."""
    with Runwright(stack.gateway_url, stack.token) as rw:
        yield rw


@pytest.fixture(scope="session")
def demo_url(stack: Stack) -> str:
    return f"http://127.0.0.1:{stack.config.demo_port}"


@pytest.fixture(scope="session")
def fixture_url() -> Iterator[str]:
    """The fixture web application the engine tests drive."""
    with running_fixture_app() as base_url:
        yield base_url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture
async def page(stack: Stack) -> AsyncIterator[Page]:
    """A page of a fresh Chromium on the stack's console, not yet signed in: 1280 by 800, downloads
    accepted, the clock in Europe/Berlin (so local times in tests have a known offset)."""
    async with async_playwright() as playwright:
        chromium = await launch(playwright)
        context = await chromium.new_context(
            base_url=stack.gateway_url,
            viewport={"width": 1280, "height": 800},
            accept_downloads=True,
            timezone_id="Europe/Berlin",
        )
        context.set_default_timeout(30000)
        yield await context.new_page()
        await context.close()
        await chromium.close()


@pytest_asyncio.fixture
async def firing(stack: Stack) -> AsyncIterator[Firing]:
    """The scheduler's firing pass on the stack's own database, NATS, queue and executor: tests
    fire an occurrence at its time instead of waiting for the clock (the occurrence's job id is
    the same whoever fires it, so the stack's scheduler and the test never both submit it)."""
    pool: asyncpg.Pool = await create_pool(stack.database_url, max_size=4)
    nc = await connect(stack.nats.url, name="scheduler-e2e")
    yield Firing(pool, nc)
    await nc.drain()
    await pool.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    if report.when == "call" and report.failed:
        item.stash[FAILED] = True
    return report


FAILED = pytest.StashKey[bool]()
UNFINISHED = tuple(s for s in JOB_STATUSES if s not in TERMINAL)


@pytest.fixture(autouse=True)
def no_job_outlives_a_failed_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that fails half-way can leave a paused job, or one waiting for an approval, holding
    an executor's browser; the tests after it would then wait in the queue and fail too. So after
    a failed test every unfinished job of the shared stack is cancelled."""
    yield
    if not request.node.stash.get(FAILED, False) or "stack" not in request.fixturenames:
        return
    stack: Stack = request.getfixturevalue("stack")
    headers = {"Authorization": f"Bearer {stack.token}"}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=30) as client:
        for status in UNFINISHED:
            page = client.get("/api/v1/jobs", params={"status": status, "limit": 200}).json()
            for job in page.get("items", []):
                client.post(f"/api/v1/jobs/{job['id']}/cancel")
