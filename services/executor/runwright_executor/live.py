"""The live view of a running job: screencast frames to the gateway over core NATS.

Frames flow only while a gateway announces watchers (``runwright.live.watch.<job>``), at most
``max_fps`` a second; between two sends only the newest frame is kept. Frames are never stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from runwright_common.logging import get_logger, logged_failure
from runwright_engine.screencast import Frame, Screencast
from runwright_proto import live, subjects

log = get_logger("runwright.executor.live")
REASON = "live"


class LiveView:
    def __init__(self, nc: Client, job_id: str, max_fps: float = live.DEFAULT_MAX_FPS) -> None:
        self.nc, self.job_id = nc, job_id
        self.interval = 1.0 / max_fps if max_fps > 0 else 0.0
        self.screencast: Screencast | None = None
        self.streaming = False
        self.frames_sent = 0
        self._expires = 0.0
        self._last_sent = 0.0
        self._pending: Frame | None = None
        self._flush: asyncio.TimerHandle | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._watch: Subscription | None = None
        self._expiry: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    async def attach(self, screencast: Screencast) -> None:
        self.screencast = screencast
        self._watch = await self.nc.subscribe(subjects.live_watch(self.job_id), cb=self._watched)
        self._expiry = asyncio.create_task(self._expire())

    async def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        if self._watch is not None:
            with logged_failure(log, "watch subscription not closed", job_id=self.job_id):
                await self._watch.unsubscribe()
        await self._stop()

    async def _watched(self, _: Msg) -> None:
        self._expires = time.monotonic() + live.WATCH_EXPIRY_S
        async with self._lock:
            if self.streaming or self.screencast is None:
                return
            self.streaming = True
            self._unsubscribe = self.screencast.subscribe(self._offer)
            with logged_failure(log, "live view could not start", job_id=self.job_id):
                await self.screencast.acquire(REASON)
            if self.screencast.latest is not None:
                self._offer(self.screencast.latest)
            log.info("live view on", job_id=self.job_id)

    async def _expire(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self.streaming and time.monotonic() > self._expires:
                await self._stop()
                log.info("live view off: nobody watches", job_id=self.job_id)

    async def _stop(self) -> None:
        async with self._lock:
            if not self.streaming:
                return
            self.streaming = False
            if self._unsubscribe is not None:
                self._unsubscribe()
            if self._flush is not None:
                self._flush.cancel()
            self._pending = None
            if self.screencast is not None:
                with logged_failure(log, "live view did not stop cleanly", job_id=self.job_id):
                    await self.screencast.release(REASON)

    def _offer(self, frame: Frame) -> None:
        """Send now if the rate allows, else keep it as the newest and send when it does."""
        self._pending = frame
        wait = self._last_sent + self.interval - time.monotonic()
        if wait <= 0:
            self._send()
        elif self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(wait, self._send)

    def _send(self) -> None:
        self._flush = None
        frame, self._pending = self._pending, None
        if frame is None or not self.streaming:
            return
        self._last_sent = time.monotonic()
        self.frames_sent += 1
        headers = {
            live.CAPTURED_AT: repr(frame.captured_at),
            live.WIDTH: str(frame.width),
            live.HEIGHT: str(frame.height),
            live.FRAME: str(self.frames_sent),
        }
        task = asyncio.get_running_loop().create_task(
            self.nc.publish(subjects.live_frames(self.job_id), frame.jpeg, headers=headers)
        )
        task.add_done_callback(lambda t: t.exception())
