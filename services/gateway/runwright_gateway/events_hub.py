"""Fan-out of job events and live frames to SSE clients: one NATS subscription each per gateway.

Job events go into a bounded queue per client; a client that cannot keep up is dropped (it
reconnects with ``Last-Event-ID`` and replays from Postgres), never buffered without bound.
Live frames go into a one-frame slot per client: a slow client gets the newest frame, never a
backlog. While any client follows a job, the hub announces it on ``runwright.live.watch.<job>``
so the executor streams frames only when someone watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from dataclasses import dataclass

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from runwright_common.logging import get_logger, logged_failure
from runwright_proto import live, subjects

log = get_logger("runwright.gateway.events")

LATEST_KEEP_S = 60.0


@dataclass(frozen=True)
class Frame:
    job_id: str
    number: int
    jpeg: bytes
    captured_at: float
    width: int
    height: int


class Listener:
    def __init__(self, job_id: str, capacity: int, frames: bool = True) -> None:
        self.job_id = job_id
        self.frames = frames
        """Whether this client asked for live frames (only those make the executor stream)."""
        self.queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue(capacity)
        self.overflowed = False
        self.frame: Frame | None = None
        self.wake = asyncio.Event()

    def offer(self, seq: int, body: bytes) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait((seq, body))
        except asyncio.QueueFull:
            self.overflowed = True
        self.wake.set()

    def offer_frame(self, frame: Frame) -> None:
        if self.frames:
            self.frame = frame
            self.wake.set()


class EventHub:
    def __init__(self, capacity: int = 512) -> None:
        self._capacity = capacity
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._latest: dict[str, tuple[Frame, float]] = {}
        self._subs: list[Subscription] = []
        self._nc: Client | None = None
        self._announcer: asyncio.Task[None] | None = None
        self.closing = False
        """Set when the gateway stops: every stream ends so its client resumes elsewhere."""

    def close_streams(self) -> None:
        """End every event stream now (the gateway is stopping); clients reconnect with
        ``Last-Event-ID`` to another gateway, or to this one once it is back."""
        self.closing = True
        for listeners in self._listeners.values():
            for listener in listeners:
                listener.wake.set()

    async def start(self, nc: Client) -> None:
        self._nc = nc
        self._subs = [
            await nc.subscribe(subjects.EVENTS, cb=self._on_event),
            await nc.subscribe(subjects.LIVE_FRAMES, cb=self._on_frame),
        ]
        self._announcer = asyncio.create_task(self._announce_watchers())

    async def stop(self) -> None:
        if self._announcer is not None:
            self._announcer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._announcer
        for sub in self._subs:
            with logged_failure(log, "event subscription not closed"):
                await sub.unsubscribe()

    def listen(self, job_id: str, frames: bool = True) -> Listener:
        listener = Listener(job_id, self._capacity, frames)
        first = frames and not self._watched(job_id)
        self._listeners[job_id].add(listener)
        latest = self._latest.get(job_id)
        if latest is not None:
            listener.offer_frame(latest[0])
        if first and self._nc is not None:
            asyncio.get_running_loop().create_task(self._announce(job_id))
        return listener

    def forget(self, listener: Listener) -> None:
        listeners = self._listeners.get(listener.job_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[listener.job_id]

    def _watched(self, job_id: str) -> bool:
        return any(listener.frames for listener in self._listeners.get(job_id, ()))

    def listener_count(self, job_id: str | None = None) -> int:
        if job_id is not None:
            return len(self._listeners.get(job_id, ()))
        return sum(len(v) for v in self._listeners.values())

    async def _announce(self, job_id: str) -> None:
        if self._nc is not None and self._nc.is_connected:
            with logged_failure(log, "watch announcement not sent", job_id=job_id):
                await self._nc.publish(subjects.live_watch(job_id), b"")

    async def _announce_watchers(self) -> None:
        while True:
            await asyncio.sleep(live.WATCH_INTERVAL_S)
            for job_id in [j for j in list(self._listeners) if self._watched(j)]:
                await self._announce(job_id)
            cutoff = time.monotonic() - LATEST_KEEP_S
            for job_id in [j for j, (_, seen) in self._latest.items() if seen < cutoff]:
                del self._latest[job_id]

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

    async def _on_frame(self, msg: Msg) -> None:
        job_id = msg.subject.rsplit(".", 1)[-1]
        headers = msg.headers or {}
        try:
            frame = Frame(
                job_id=job_id,
                number=int(headers.get(live.FRAME, "0")),
                jpeg=msg.data,
                captured_at=float(headers.get(live.CAPTURED_AT, "0")),
                width=int(headers.get(live.WIDTH, "0")),
                height=int(headers.get(live.HEIGHT, "0")),
            )
        except ValueError:
            return
        self._latest[job_id] = (frame, time.monotonic())
        for listener in tuple(self._listeners.get(job_id, ())):
            listener.offer_frame(frame)


class _Head(msgspec.Struct):
    seq: int


_head = msgspec.json.Decoder(_Head)


def _seq_of(data: bytes) -> int | None:
    try:
        return _head.decode(data).seq
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
