"""The workspace stream's shared reader: one ordered JetStream consumer per gateway on EVENTS, and
a bounded window of the latest events in memory that every ``/api/v1/events`` client reads at its
own pace.

A client resuming from inside the window is served from memory; one resuming from further back,
or one so slow the window moved past it, reads through its own replay consumer until it reaches
the window, and that consumer is deleted as soon as it is done. So consumers scale with the
clients that are behind, not with clients, and a slow client is never cut off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from bisect import bisect_right
from collections.abc import AsyncIterator
from typing import NamedTuple

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from runwright_common.logging import get_logger, logged_failure
from runwright_proto import streams, subjects

log = get_logger("runwright.gateway.workspace_feed")

WATCH_S = 2.0
"""How often the feed checks that its consumer still delivers (a restarted nats-server may
not bring it back); a stalled one is made again from where it stopped."""
REPLAY_INACTIVE_S = 10.0
"""A replay consumer whose gateway vanished without deleting it goes this long after."""


class Entry(NamedTuple):
    seq: int
    """The event's position in EVENTS (the SSE id)."""
    kind: str
    """The event's ``type``; empty for a message that is not a job event (never sent)."""
    workspace: str
    """The workspace of the event's job: only its callers are sent the event."""
    data: bytes


class _Head(msgspec.Struct):
    type: str = "event"
    workspace: str = "default"


_head = msgspec.json.Decoder(_Head)


def entry(seq: int, data: bytes) -> Entry:
    try:
        head = _head.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return Entry(seq, "", "", data)
    return Entry(seq, head.type, head.workspace, data)


class WorkspaceFeed:
    def __init__(self, max_events: int = 20_000, max_bytes: int = 64 << 20) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._seqs: list[int] = []
        self._entries: list[Entry] = []
        self._head = 0
        """Entries before this index have left the window (compacted now and then)."""
        self._bytes = 0
        self.base = 0
        """Every event after ``base`` up to ``last`` is in the window."""
        self.last = 0
        self._changed = asyncio.Event()
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PushSubscription | None = None
        self.replays = 0
        """Replay consumers open now (for metrics and tests)."""
        self.resubscribed = 0
        self._heard = time.monotonic()
        self._watcher: asyncio.Task[None] | None = None

    async def start(self, nc: Client) -> None:
        self._js = nc.jetstream()
        state = (await self._js.stream_info(streams.EVENTS.name)).state
        self.base = self.last = state.last_seq
        await self._subscribe()
        self._watcher = asyncio.create_task(self._watch())

    async def _subscribe(self) -> None:
        assert self._js is not None
        self._heard = time.monotonic()
        self._sub = await self._js.subscribe(
            subjects.EVENTS,
            stream=streams.EVENTS.name,
            ordered_consumer=True,
            cb=self._on_msg,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.last + 1,
                inactive_threshold=REPLAY_INACTIVE_S,
            ),
        )

    async def _watch(self) -> None:
        assert self._js is not None
        while True:
            await asyncio.sleep(WATCH_S)
            with logged_failure(log, "workspace feed not checked"):
                state = (await self._js.stream_info(streams.EVENTS.name)).state
                if state.last_seq > self.last and time.monotonic() - self._heard > WATCH_S:
                    log.warning(
                        "workspace feed stalled; subscribing again",
                        position=self.last,
                        stream_last=state.last_seq,
                    )
                    if self._sub is not None:
                        await _close(self._js, self._sub)
                    await self._subscribe()
                    self.resubscribed += 1

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._sub is not None:
            await _close(self._js, self._sub)
        self._changed.set()

    async def _on_msg(self, msg: Msg) -> None:
        self._heard = time.monotonic()
        seq = msg.metadata.sequence.stream
        if seq <= self.last:
            return  # redelivered after the ordered consumer was reset
        self.last = seq
        self._seqs.append(seq)
        self._entries.append(entry(seq, msg.data))
        self._bytes += len(msg.data)
        self._trim()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _trim(self) -> None:
        while len(self._seqs) - self._head > self.max_events or (
            self._bytes > self.max_bytes and len(self._seqs) - self._head > 1
        ):
            gone = self._entries[self._head]
            self._bytes -= len(gone.data)
            self.base = gone.seq
            self._head += 1
        if self._head > 1024 and self._head * 2 > len(self._seqs):
            del self._seqs[: self._head], self._entries[: self._head]
            self._head = 0

    def after(self, position: int) -> list[Entry]:
        """The window's events after ``position`` (which must be ``>= base``)."""
        start = bisect_right(self._seqs, position, lo=self._head)
        return self._entries[start:]

    async def changed(self, timeout: float) -> None:
        """Until the next event arrives or ``timeout`` passes."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    def window(self) -> tuple[int, int, int]:
        """(events held, bytes held, replay consumers open)."""
        return len(self._seqs) - self._head, self._bytes, self.replays

    async def replay(self, after: int, poll_s: float) -> AsyncIterator[Entry | None]:
        """The events after ``after`` from JetStream, until the window holds what comes next.
        Yields None when nothing came for ``poll_s`` (time for a keep-alive)."""
        assert self._js is not None
        self.replays += 1
        sub = await self._js.subscribe(
            subjects.EVENTS,
            stream=streams.EVENTS.name,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=after + 1,
                inactive_threshold=REPLAY_INACTIVE_S,
            ),
        )
        quiet_s = 0.0
        try:
            while after < self.base:
                try:
                    msg = await sub.next_msg(timeout=poll_s)
                except NatsTimeout:
                    # Events after ``after`` exist (the window starts later), so a quiet replay
                    # has stalled (nats-server restarted): end it and the caller starts anew.
                    quiet_s += poll_s
                    if quiet_s >= 2 * WATCH_S:
                        return
                    yield None
                    continue
                quiet_s = 0.0
                after = msg.metadata.sequence.stream
                yield entry(after, msg.data)
        finally:
            self.replays -= 1
            await _close(self._js, sub)


async def _close(js: JetStreamContext | None, sub: JetStreamContext.PushSubscription) -> None:
    """Unsubscribe and delete the consumer now: nats-py's unsubscribe leaves an ephemeral
    consumer on the server until its inactivity threshold."""
    # The ordered consumer's current name (it changes when the client resets it).
    name = getattr(sub, "_consumer", None)
    with logged_failure(log, "workspace consumer not closed"):
        await sub.unsubscribe()
    if js is not None and name:
        with logged_failure(log, "workspace consumer not deleted", consumer=name):
            await js.delete_consumer(streams.EVENTS.name, name)
