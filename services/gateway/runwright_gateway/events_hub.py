"""Fan-out of job events to SSE clients: one NATS subscription per gateway, a bounded queue each.

A client that cannot keep up is dropped (it reconnects with ``Last-Event-ID`` and replays from
Postgres), never buffered without bound.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from runwright_proto import subjects


class Listener:
    def __init__(self, job_id: str, capacity: int) -> None:
        self.job_id = job_id
        self.queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(capacity)
        self.overflowed = False

    def offer(self, seq: int, body: bytes) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((seq, body))
        except asyncio.QueueFull:
            self.overflowed = True


class EventHub:
    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._sub: Subscription | None = None

    async def start(self, nc: Client) -> None:
        self._sub = await nc.subscribe(subjects.EVENTS, cb=self._on_event)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    def listen(self, job_id: str) -> Listener:
        listener = Listener(job_id, self._capacity)
        self._listeners[job_id].add(listener)
        return listener

    def forget(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.job_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.job_id]

    def listener_count(self, job_id: str | None = None) -> int:
        if job_id is not None:
            return len(self._listeners.get(job_id, ()))
        return sum(len(v) for v in self._listeners.values())

    async def _on_event(self, msg: Msg) -> None:
        job_id = msg.subject.rsplit(".", 1)[-1]
        listeners = self._listeners.get(job_id)
        if not listeners:
            return
        seq = _seq_of(msg.data)
        if seq is None:
            return
        for listener in tuple(listeners):
            listener.offer(seq, msg.data)


class _Head(msgspec.Struct):
    seq: int


_head = msgspec.json.Decoder(_Head)


def _seq_of(data: bytes) -> int | None:
    try:
        return _head.decode(data).seq
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
