"""The workspace stream's shared window, against a real nats-server: clients inside the window
need no consumer of their own, a client resuming from before it (or left behind by it) replays
through a consumer that is deleted once it has caught up, and every client sees every event once,
in order, however slowly it reads."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import nats
import pytest_asyncio
from litestar.response import ServerSentEventMessage
from nats.aio.client import Client
from runwright_bus import ensure_topology
from runwright_gateway.events_hub import EventHub
from runwright_gateway.workspace_events import follow
from runwright_gateway.workspace_feed import WorkspaceFeed
from runwright_proto import streams, subjects
from runwright_stack.nats_server import NatsServer

WINDOW = 5


@pytest_asyncio.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
    js = client.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(streams.EVENTS.name)
    await ensure_topology(js, streams.ALL_STREAMS)
    yield client
    await client.close()


async def publish(nc: Client, start: int, count: int) -> None:
    js = nc.jetstream()
    for n in range(start, start + count):
        body = json.dumps({"type": "status", "job_id": "j", "seq": n, "n": n}).encode()
        await js.publish(subjects.events("default", "j"), body)


async def consumers(nc: Client) -> int:
    return (await nc.jetstream().stream_info(streams.EVENTS.name)).state.consumer_count


async def take(stream: AsyncIterator[ServerSentEventMessage], count: int) -> list[int]:
    """The positions of the next ``count`` events (comments and keep-alives skipped)."""
    got: list[int] = []
    while len(got) < count:
        message = await asyncio.wait_for(anext(stream), 10)
        if message.event and message.event not in ("ready", "reset"):
            assert message.id is not None
            got.append(int(message.id))
    return got


async def opened(nc: Client, feed: WorkspaceFeed) -> AsyncIterator[ServerSentEventMessage]:
    """A fresh client, past its ``ready``: it sees what is published from now on."""
    client = follow(nc, EventHub(), feed, None, 15, "default")
    await asyncio.wait_for(anext(client), 5)  # the retry hint
    ready = await asyncio.wait_for(anext(client), 5)
    assert ready.event == "ready"
    assert ready.id == feed.last
    return client


async def started(nc: Client) -> WorkspaceFeed:
    feed = WorkspaceFeed(max_events=WINDOW)
    await feed.start(nc)
    return feed


async def test_clients_inside_the_window_share_the_gateways_one_consumer(nc: Client) -> None:
    feed = await started(nc)
    before = await consumers(nc)
    clients = [await opened(nc, feed) for _ in range(50)]
    await publish(nc, 1, 3)
    for client in clients:
        assert await take(client, 3) == [1, 2, 3]
    assert await consumers(nc) == before, "no client opened a consumer of its own"
    for client in clients:
        await client.aclose()
    await feed.stop()
    assert await consumers(nc) == before - 1, "the feed's consumer is deleted when it stops"


async def test_a_client_resuming_from_before_the_window_replays_then_leaves_no_consumer(
    nc: Client,
) -> None:
    await publish(nc, 1, 20)
    feed = await started(nc)
    await publish(nc, 21, 20)  # the window now holds 36..40
    await asyncio.sleep(0.2)
    assert feed.base == 35
    baseline = await consumers(nc)
    client = follow(nc, EventHub(), feed, 3, 15, "default")
    assert await take(client, 37) == list(range(4, 41)), "no gap, no repeat across the seam"
    assert await consumers(nc) == baseline, "the replay consumer went once it caught up"
    await publish(nc, 41, 2)
    assert await take(client, 2) == [41, 42]
    await client.aclose()
    await feed.stop()


async def test_a_client_the_window_moves_past_is_not_cut_off(nc: Client) -> None:
    feed = await started(nc)
    client = await opened(nc, feed)
    await publish(nc, 1, 2)
    assert await take(client, 2) == [1, 2]
    await publish(nc, 3, 30)  # far more than the window while the client reads nothing
    await asyncio.sleep(0.2)
    assert feed.base > 2
    assert await take(client, 30) == list(range(3, 33))
    assert feed.window()[2] == 0, "its replay ended once it was back in the window"
    await client.aclose()
    await feed.stop()


async def test_the_window_carries_on_after_nats_server_restarts(
    nc: Client, nats_server: NatsServer
) -> None:
    feed = await started(nc)
    client = await opened(nc, feed)
    await publish(nc, 1, 3)
    assert await take(client, 3) == [1, 2, 3]
    nats_server.kill()
    nats_server.launch()
    for _ in range(100):  # until the server is back and JetStream answers
        try:
            await asyncio.wait_for(nc.jetstream().stream_info(streams.EVENTS.name), 0.5)
            break
        except (nats.errors.Error, TimeoutError):
            await asyncio.sleep(0.1)
    await publish(nc, 4, 3)
    assert await take(client, 3) == [4, 5, 6], "the feed's consumer came back by itself"
    await client.aclose()
    await feed.stop()
