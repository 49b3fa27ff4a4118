"""Recording a page's screencast into a WebM (VP8) video with PyAV.

Frames come only when the page repaints, so a static page gives few frames: each frame's
presentation time is its Chromium timestamp (milliseconds from the first kept frame), and the last
picture is repeated at `finish` so the video lasts until the end of the run.

Limits, so a long run cannot exhaust memory or disk:
- at most `max_fps` frames a second are kept (default 10): a frame closer than 1/max_fps to the
  previous kept one is held back and dropped when a newer one replaces it; a held frame that the
  page then rested on is kept (shown up to 1/max_fps late), and the newest frame is kept at finish;
- kept JPEGs are spooled to an anonymous temporary file, not kept in memory;
- recording stops keeping frames after `max_duration_s` (default 10 minutes) or `max_bytes` of JPEG
  (default 256 MiB; about 25 minutes of a busy 1280x720 page at 10 fps): the video then ends
  where the recording was cut and `VideoInfo.truncated` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import IO

import av
from playwright.async_api import Error as PlaywrightError

from runwright_engine.screencast import Frame, Screencast, jpeg_size

MS = Fraction(1, 1000)


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """A written video. `duration_s` is the last frame's presentation time (players add one
    frame, 1/30 s); `truncated` says the recording hit `max_duration_s` or `max_bytes`."""

    path: Path
    frames: int
    duration_s: float
    width: int
    height: int
    size_bytes: int
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class _Kept:
    offset: int
    length: int
    timestamp: float  # seconds, Chromium's clock


class VideoRecorder:
    """Keeps a screencast's frames from `start` to `finish`, then encodes them into a WebM.

    Joining a screencast that already runs, it starts from the screencast's latest frame. If no
    frame arrived at all, `finish` takes one screenshot and shows it for the whole recording; if
    the page is already closed too, `finish` returns None. Frames are spooled on the event loop
    (one small write per kept frame); decoding and encoding run in a worker thread.
    """

    def __init__(
        self,
        screencast: Screencast,
        *,
        max_fps: float = 10.0,
        max_duration_s: float = 600.0,
        max_bytes: int = 256 * 2**20,
        bit_rate: int = 1_000_000,
        reason: str = "video",
    ) -> None:
        self.screencast = screencast
        self.max_duration_s = max_duration_s
        self.max_bytes = max_bytes
        self.bit_rate = bit_rate
        self._interval = 1.0 / max_fps
        self._reason = reason
        self._spool: IO[bytes] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._kept: list[_Kept] = []
        self._size = (0, 0)
        self._last_ts = 0.0
        self._pending: Frame | None = None
        self._lag = 0.0  # our clock minus Chromium's, at the fastest delivery seen
        self._cut_at: float | None = None
        self._started_at = 0.0

    @property
    def frames(self) -> int:
        """Frames kept so far."""
        return len(self._kept)

    @property
    def truncated(self) -> bool:
        return self._cut_at is not None

    async def start(self) -> None:
        if self._spool is not None:
            raise RuntimeError("a recorder records once")
        # Closed by finish (its encoding thread) or discard, not by a with block here.
        self._spool = tempfile.TemporaryFile(prefix="runwright-video-")  # noqa: SIM115
        self._started_at = time.time()
        if (latest := self.screencast.latest) is not None:
            # Joining a running screencast: the page shows its latest frame until it repaints.
            now = latest.timestamp + (self._started_at - latest.captured_at)
            self._offer(replace(latest, timestamp=now, captured_at=self._started_at))
        self._unsubscribe = self.screencast.subscribe(self._offer)
        try:
            await self.screencast.acquire(self._reason)
        except BaseException:
            await self.discard()
            raise

    async def finish(self, path: Path) -> VideoInfo | None:
        """Stop recording and encode the video to `path` (parents created) in a worker thread,
        which owns the spooled frames from then on."""
        spool = self._stop_keeping()
        try:
            await self.screencast.release(self._reason)
            if self._pending is not None:
                self._keep(self._pending, max(self._pending.timestamp, self._last_ts + 0.001))
            if not self._kept:
                await self._keep_screenshot()
            if not self._kept:
                spool.close()
                return None
            end = time.time() - self._lag  # the end of the run on Chromium's clock
            if self._cut_at is not None:
                end = min(end, self._cut_at)
            plan = _schedule(self._kept, end)
            path.parent.mkdir(parents=True, exist_ok=True)
        except BaseException:
            spool.close()
            raise
        return await asyncio.to_thread(
            _encode, spool, plan, path, self._size, self.bit_rate, self.truncated
        )

    async def discard(self) -> None:
        """Stop recording and drop the frames, encoding nothing. Does nothing after `finish` or
        a previous `discard`."""
        if self._unsubscribe is None:
            return
        self._stop_keeping().close()
        await self.screencast.release(self._reason)

    def _stop_keeping(self) -> IO[bytes]:
        if self._spool is None or self._unsubscribe is None:
            raise RuntimeError("this recorder has not started, or has already finished")
        self._unsubscribe()
        self._unsubscribe = None
        return self._spool

    def _offer(self, frame: Frame) -> None:
        if self._cut_at is not None:
            return
        lag = frame.captured_at - frame.timestamp
        self._lag = lag if not self._kept else min(self._lag, lag)
        if self._kept and frame.timestamp < self._last_ts + self._interval:
            self._pending = frame
            return
        pending, self._pending = self._pending, None
        if pending is not None and frame.timestamp - pending.timestamp >= self._interval:
            # The page rested on the held-back frame: show it as soon as the cap allows.
            self._keep(pending, self._last_ts + self._interval)
            if frame.timestamp < self._last_ts + self._interval:
                self._pending = frame
                return
        self._keep(frame, frame.timestamp)

    def _keep(self, frame: Frame, timestamp: float) -> None:
        spool = self._spool
        assert spool is not None
        offset = spool.tell()
        first = self._kept[0].timestamp if self._kept else timestamp
        if timestamp - first > self.max_duration_s or offset + len(frame.jpeg) > self.max_bytes:
            self._cut_at = timestamp
            self._pending = None
            return
        spool.write(frame.jpeg)
        if not self._kept:
            self._size = (frame.width, frame.height)
        self._kept.append(_Kept(offset, len(frame.jpeg), timestamp))
        self._last_ts = timestamp
        self._pending = None

    async def _keep_screenshot(self) -> None:
        """One screenshot, shown from the start of the recording; nothing if the page is gone."""
        try:
            jpeg = await self.screencast.page.screenshot(type="jpeg")
        except PlaywrightError:
            return
        width, height = jpeg_size(jpeg) or (0, 0)
        self._keep(Frame(jpeg, self._started_at, self._started_at, width, height), self._started_at)


def _schedule(kept: list[_Kept], end: float) -> list[tuple[_Kept, int]]:
    """Each kept frame with its pts (ms from the first, strictly increasing), then the last frame
    again at the end of the run so the video lasts that long."""
    first = kept[0].timestamp
    plan: list[tuple[_Kept, int]] = []
    last = -1
    for item in kept:
        last = max(round((item.timestamp - first) * 1000), last + 1)
        plan.append((item, last))
    end_ms = round((end - first) * 1000)
    if end_ms > last:
        plan.append((kept[-1], end_ms))
    return plan


def _even(value: int) -> int:
    return max(2, value - value % 2)


def _encode(
    spool: IO[bytes],
    plan: list[tuple[_Kept, int]],
    path: Path,
    size: tuple[int, int],
    bit_rate: int,
    truncated: bool,
) -> VideoInfo:
    """Encode the planned frames to `path`; closes the spool, removes a partly written file."""
    width, height = _even(size[0]), _even(size[1])
    try:
        with spool:
            frames, last_pts = _write(spool, plan, path, (width, height), bit_rate)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return VideoInfo(
        path=path,
        frames=frames,
        duration_s=last_pts / 1000,
        width=width,
        height=height,
        size_bytes=path.stat().st_size,
        truncated=truncated,
    )


def _write(
    spool: IO[bytes],
    plan: list[tuple[_Kept, int]],
    path: Path,
    size: tuple[int, int],
    bit_rate: int,
) -> tuple[int, int]:
    """Decode the spooled JPEGs and encode them as VP8 in WebM, scaled to `size` (even). Returns
    the frames written and the last one's pts in ms."""
    frames, last_pts = 0, 0
    with av.open(str(path), mode="w", format="webm") as out:
        stream = out.add_stream(
            "libvpx", rate=30, options={"deadline": "realtime", "cpu-used": "8"}
        )
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.bit_rate = bit_rate
        stream.codec_context.time_base = MS
        for item, pts in plan:
            spool.seek(item.offset)
            image = _decode_jpeg(spool.read(item.length))
            if image is None:
                continue  # a damaged frame: the previous picture stays a little longer
            picture = image.reformat(width=size[0], height=size[1], format="yuv420p")
            picture.pts, picture.time_base = pts, MS
            out.mux(stream.encode(picture))
            frames, last_pts = frames + 1, pts
        out.mux(stream.encode(None))
    return frames, last_pts


def _decode_jpeg(jpeg: bytes) -> av.VideoFrame | None:
    with (
        contextlib.suppress(av.FFmpegError),
        av.open(io.BytesIO(jpeg), mode="r", format="mjpeg") as source,
    ):
        return next(source.decode(video=0), None)
    return None
