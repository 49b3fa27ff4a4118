"""A page's CDP screencast: JPEG frames on every repaint, shared by the live view and the recorder.

Chromium sends a frame only when the page repaints, and stops sending until each frame is acked
with `Page.screencastFrameAck`; this class acks every frame. The screencast runs while at least one
reason holds it (`acquire`/`release`), so a live view can come and go while a recorder keeps
receiving frames.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from runwright_common.logging import get_logger

log = get_logger(__name__)

START_REASON = "start"
# JPEG start-of-frame markers carrying the image size (baseline, progressive, ...); not DHT/JPG/DAC.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True, slots=True)
class Frame:
    """One screencast frame. `timestamp` is Chromium's (seconds since the epoch, from the frame's
    metadata); `captured_at` is `time.time()` when it reached us."""

    jpeg: bytes
    timestamp: float
    captured_at: float
    width: int
    height: int


FrameCallback = Callable[[Frame], None]


def jpeg_size(jpeg: bytes) -> tuple[int, int] | None:
    """Width and height from a JPEG's start-of-frame header, without decoding the image."""
    if not jpeg.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 9 <= len(jpeg):
        if jpeg[at] != 0xFF:
            return None
        marker = jpeg[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _SOF_MARKERS:
            height, width = struct.unpack(">HH", jpeg[at + 5 : at + 9])
            return width, height
        (length,) = struct.unpack(">H", jpeg[at + 2 : at + 4])
        at += 2 + length
    return None


class Screencast:
    """`Page.startScreencast` on one page, held by counted reasons, fanned out to subscribers."""

    def __init__(
        self, page: Page, *, quality: int = 60, max_width: int = 1280, max_height: int = 720
    ) -> None:
        self.page = page
        self._params = {
            "format": "jpeg",
            "quality": quality,
            "maxWidth": max_width,
            "maxHeight": max_height,
        }
        self._session: CDPSession | None = None
        self._reasons: Counter[str] = Counter()
        self._running = False
        self._lock = asyncio.Lock()
        self._subscribers: list[FrameCallback] = []
        self._acks: set[asyncio.Task[None]] = set()
        self.latest: Frame | None = None
        """The newest frame seen, kept across stops: a static page may not send another soon."""

    @property
    def running(self) -> bool:
        return self._running

    @property
    def reasons(self) -> dict[str, int]:
        """Each reason holding the screencast, with how many times it is held."""
        return dict(self._reasons)

    async def start(self) -> None:
        """Hold the screencast for the plain start/stop user; a second `start` changes nothing."""
        await self._hold(START_REASON, once=True)

    async def stop(self) -> None:
        """Release what `start` holds. Idempotent; the screencast keeps running while another
        reason (a recorder, a watcher) holds it. Safe after the page or context closed."""
        await self.release(START_REASON)

    async def acquire(self, reason: str) -> None:
        """Hold the screencast for `reason` (counted: acquire twice, release twice). Starts it if
        nothing held it. Raises Playwright's error if the page is closed, holding nothing."""
        await self._hold(reason, once=False)

    async def release(self, reason: str) -> None:
        """Drop one hold of `reason`; stops the screencast when nothing holds it. Releasing a
        reason that holds nothing does nothing. Safe after the page or context closed."""
        async with self._lock:
            if not self._reasons[reason]:
                return
            self._drop(reason)
            if not self._reasons and self._running:
                await self._stop_cdp()

    async def _hold(self, reason: str, *, once: bool) -> None:
        async with self._lock:
            if once and self._reasons[reason]:
                return
            self._reasons[reason] += 1
            if self._running:
                return
            try:
                await self._start_cdp()
            except BaseException:
                self._drop(reason)
                raise

    async def close(self) -> None:
        """Drop every hold, stop the screencast and detach the CDP session. Idempotent."""
        async with self._lock:
            self._reasons.clear()
            if self._running:
                await self._stop_cdp()
            session, self._session = self._session, None
            if session is not None:
                with contextlib.suppress(PlaywrightError):
                    await session.detach()

    def subscribe(self, callback: FrameCallback) -> Callable[[], None]:
        """Call `callback` with every frame from now on (on the event loop; keep it quick).
        Returns a function that unsubscribes; calling it again does nothing."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._subscribers.remove(callback)

        return unsubscribe

    def _drop(self, reason: str) -> None:
        self._reasons[reason] -= 1
        if self._reasons[reason] <= 0:
            del self._reasons[reason]

    async def _start_cdp(self) -> None:
        if self._session is None:
            self._session = await self.page.context.new_cdp_session(self.page)
            self._session.on("Page.screencastFrame", self._on_frame)
        self._running = True
        try:
            await self._session.send("Page.startScreencast", self._params)
        except BaseException:
            self._running = False
            raise

    async def _stop_cdp(self) -> None:
        self._running = False  # frames still in flight are dropped from here on
        if self._session is not None:
            with contextlib.suppress(PlaywrightError):
                await self._session.send("Page.stopScreencast")

    def _on_frame(self, params: dict[str, Any]) -> None:
        captured_at = time.time()
        self._ack(int(params["sessionId"]))
        if not self._running:
            return
        jpeg = base64.b64decode(params["data"])
        metadata: dict[str, Any] = params.get("metadata", {})
        size = jpeg_size(jpeg) or (
            round(metadata.get("deviceWidth", 0) * metadata.get("pageScaleFactor", 1)),
            round(metadata.get("deviceHeight", 0) * metadata.get("pageScaleFactor", 1)),
        )
        frame = Frame(
            jpeg=jpeg,
            timestamp=float(metadata.get("timestamp", captured_at)),
            captured_at=captured_at,
            width=size[0],
            height=size[1],
        )
        self.latest = frame
        for callback in tuple(self._subscribers):
            try:
                callback(frame)
            except Exception:
                log.exception("screencast subscriber failed", callback=repr(callback))

    def _ack(self, session_id: int) -> None:
        session = self._session
        if session is None:
            return
        task = asyncio.get_running_loop().create_task(self._send_ack(session, session_id))
        self._acks.add(task)
        task.add_done_callback(self._acks.discard)

    @staticmethod
    async def _send_ack(session: CDPSession, session_id: int) -> None:
        with contextlib.suppress(PlaywrightError):
            await session.send("Page.screencastFrameAck", {"sessionId": session_id})
