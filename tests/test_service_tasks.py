"""A service never stays up with one of its loops dead: a background task that ends with an error
stops the service, which exits with that error (and is started again by whoever supervises it),
while a loop reading a JetStream consumer outlasts a nats-server that goes away and comes back
(real nats-server)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from runwright_bus.consume import Fetcher
from runwright_bus.service import service
from runwright_common.settings import CommonSettings
from runwright_stack.nats_server import NatsServer, nats_binary


@pytest.fixture
def server(tmp_path: Path) -> Iterator[NatsServer]:
    running = NatsServer(tmp_path, tmp_path)
    running.start()
    yield running
    running.stop()


async def test_a_background_task_that_fails_stops_its_service_with_an_error(
    server: NatsServer,
) -> None:
    settings = CommonSettings(nats_url=server.address, log_format="json")

    async def broken() -> None:
        await asyncio.sleep(0.05)
        raise ValueError("the loop broke")

    failed: list[str] = []

    async def run() -> None:
        async with service("queue", settings) as ctx:
            ctx.spawn(broken(), "broken-loop")
            await asyncio.wait_for(ctx.serve_until_stopped(), 10)
            failed.append(ctx.failed)

    with pytest.raises(RuntimeError, match="background task broken-loop failed"):
        await run()
    assert failed == ["broken-loop"], "serving ended because the task failed"


async def test_a_task_that_ends_cleanly_or_fails_while_stopping_does_not_fail_the_service(
    server: NatsServer,
) -> None:
    settings = CommonSettings(nats_url=server.address, log_format="json")

    async def quiet() -> None:
        return None

    async with service("queue", settings) as ctx:
        ctx.spawn(quiet(), "quiet")
        await asyncio.sleep(0.1)
        assert not ctx.stop.is_set()
    assert ctx.failed == ""


async def test_a_fetch_outlasts_a_time_when_jetstream_does_not_answer(
    server: NatsServer, tmp_path: Path
) -> None:
    """While the server the client reconnects to has no JetStream (as a cluster node answers
    while its consumer has no leader: 503, no responders), fetches come back empty; once
    JetStream is back the same subscription reads on."""
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    nc = await nats.connect(
        server.url,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.1,
        reconnected_cb=on_reconnect,
    )
    js = nc.jetstream()
    await js.add_stream(name="T", subjects=["t.>"])
    sub = await js.pull_subscribe("t.>", durable="t-reader", stream="T")
    fetcher = Fetcher(sub, "t-reader")
    try:
        server.kill()
        plain = subprocess.Popen(
            [nats_binary(), "-a", "127.0.0.1", "-p", str(server.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            await asyncio.wait_for(reconnected.wait(), 10)
            reconnected.clear()
            for _ in range(3):
                assert await fetcher.fetch(1, timeout=0.5) == []
            assert fetcher.failures >= 1, "JetStream's silence was seen, not taken for no messages"
        finally:
            plain.terminate()
            plain.wait()
        server.launch()
        await asyncio.wait_for(reconnected.wait(), 10)
        await js.publish("t.one", b"after")
        got: list[bytes] = []
        for _ in range(50):
            got += [m.data for m in await fetcher.fetch(1, timeout=0.5)]
            if got:
                break
        assert got == [b"after"]
    finally:
        await nc.close()
