"""What every service does around its own work: identity, logging, tracing, NATS, health."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from nats.aio.client import Client
from nats.js import JetStreamContext
from runwright_common import metrics
from runwright_common.health import serve_http_health
from runwright_common.lifecycle import stop_event
from runwright_common.logging import configure_logging, get_logger
from runwright_common.settings import CommonSettings
from runwright_common.tracing import configure_tracing, shutdown_tracing
from runwright_proto.permissions import inbox_prefix

from runwright_bus.connect import connect
from runwright_bus.health import serve_health

Checks = Callable[[], Awaitable[dict[str, str]]]


@dataclass
class ServiceContext:
    name: str
    instance: str
    nc: Client
    js: JetStreamContext
    stop: asyncio.Event
    stack: AsyncExitStack
    checks: dict[str, Callable[[], Awaitable[str]]] = field(default_factory=dict)
    counters: dict[str, Callable[[], int]] = field(default_factory=dict)
    """Totals the health answer reports beside the checks (read when asked)."""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    started: bool = False
    failed: str = ""
    """The background task that ended with an error (the service then stops, and exits 1)."""

    async def readiness(self) -> dict[str, str]:
        results = {
            "startup": "ok" if self.started else "starting",
            "nats": "ok" if self.nc.is_connected else "disconnected",
        }
        for name, check in self.checks.items():
            try:
                results[name] = await check()
            except Exception as exc:
                get_logger(f"runwright.{self.name}").warning(
                    "readiness check failed", check=name, error=str(exc)
                )
                results[name] = f"error: {type(exc).__name__}"
        return results

    def counted(self) -> dict[str, int]:
        return {name: read() for name, read in self.counters.items()}

    async def serve_until_stopped(self) -> None:
        self.started = True
        get_logger(f"runwright.{self.name}").info("ready", instance=self.instance)
        await self.stop.wait()
        get_logger(f"runwright.{self.name}").info("draining")

    def spawn(self, coro: Awaitable[None], name: str) -> None:
        """Run ``coro`` until the service stops. Should it end with an error, the service stops
        and exits with an error: a process left up with one of its loops dead would answer
        health checks while its work went undone; stopped, it is started again."""
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        task.add_done_callback(self._ended)
        self.tasks.append(task)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or (error := task.exception()) is None:
            return
        if self.failed or self.stop.is_set():
            return  # stopping already: asyncio reports an error while draining
        self.failed = task.get_name()
        get_logger(f"runwright.{self.name}").error(
            "background task failed; stopping", task=self.failed, exc_info=error
        )
        self.stop.set()


@asynccontextmanager
async def service(name: str, settings: CommonSettings) -> AsyncIterator[ServiceContext]:
    """Start-up and drain for a service: yields once NATS is connected and health is served.

    The body opens its own resources on ``ctx.stack`` and ends with ``ctx.serve_until_stopped()``;
    on exit, background tasks are awaited, then resources close and NATS is drained.
    """
    configure_logging(name, fmt=settings.log_format, level=settings.log_level)
    configure_tracing(name, slow_statement_ms=settings.trace_db_slow_ms)
    metrics.configure(name, enabled=settings.metrics)
    log = get_logger(f"runwright.{name}")
    instance = settings.instance or f"{name}-{socket.gethostname()}-{os.getpid()}"
    stop = stop_event()
    async with AsyncExitStack() as stack:
        nc = await connect(
            settings.nats_url,
            name=instance,
            user=settings.nats_user,
            password=settings.nats_password,
            inbox_prefix=inbox_prefix(name),
        )
        stack.push_async_callback(_drain, nc)
        ctx = ServiceContext(
            name=name, instance=instance, nc=nc, js=nc.jetstream(), stop=stop, stack=stack
        )
        await serve_health(nc, name, instance, ctx.readiness, ctx.counted)
        if settings.health_port:
            server = await serve_http_health(settings.health_port, ctx.readiness)
            stack.callback(server.close)
        try:
            yield ctx
        finally:
            stop.set()
            if ctx.tasks:
                await asyncio.wait(ctx.tasks, timeout=30)
            shutdown_tracing()
    log.info("stopped")
    if ctx.failed:
        raise RuntimeError(f"background task {ctx.failed} failed")


async def _drain(nc: Client) -> None:
    if nc.is_connected:
        await nc.drain()
