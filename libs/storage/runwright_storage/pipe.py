"""A bounded pipe from the event loop to a blocking reader thread, for streaming uploads.

The S3 SDK uploads from a file-like object in its own thread; the loop feeds that object chunk by
chunk, waiting while the pipe is full, so only a few chunks wait besides the part being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class UploadAborted(OSError):
    """Raised inside the reader thread when the loop gives up on an upload."""


class ChunkPipe:
    """Chunks written by the event loop, read as a blocking file (``read(size)``) in one thread."""

    def __init__(self, *, max_chunks: int = 8) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(max_chunks)
        self._pending = b""
        self._ended = False

    async def send(self, chunk: bytes, reader: asyncio.Future[Any]) -> None:
        """Queue ``chunk``, waiting for room; raises the reader's error (or ``UploadAborted``)
        when the reader has stopped."""
        await self._put(chunk, reader)

    async def finish(self, reader: asyncio.Future[Any]) -> None:
        """Signal the end of the data."""
        await self._put(None, reader)

    def abort(self) -> None:
        """Drop what is queued and make the reader's next ``read`` raise ``UploadAborted``."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(UploadAborted("the upload was abandoned"))

    async def _put(self, item: bytes | None, reader: asyncio.Future[Any]) -> None:
        if not reader.done():
            try:
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                pass
            else:
                return
            put = asyncio.ensure_future(self._queue.put(item))
            try:
                await asyncio.wait({put, reader}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not put.done():
                    put.cancel()
            if put.done() and not put.cancelled():
                return
        reader.result()  # the reader's own error, when it failed
        raise UploadAborted("the upload stopped before the data ended")

    def read(self, size: int = -1) -> bytes:
        """Blocking read for the reader thread: ``size`` bytes (fewer only at the end), gathered
        in one join, so the SDK does not grow its part buffer a chunk at a time."""
        pieces = [self._pending] if self._pending else []
        total = len(self._pending)
        self._pending = b""
        while (size < 0 or total < size) and not self._ended:
            item = asyncio.run_coroutine_threadsafe(self._queue.get(), self._loop).result()
            if item is None:
                self._ended = True
            elif isinstance(item, BaseException):
                raise item
            else:
                pieces.append(item)
                total += len(item)
        if 0 <= size < total:
            last = pieces[-1]
            cut = len(last) - (total - size)
            pieces[-1], self._pending = last[:cut], last[cut:]
        return b"".join(pieces)


def run_in_own_thread(call: Callable[[], T], *, name: str) -> asyncio.Future[T]:
    """Run a long blocking ``call`` in a thread of its own and await its result.

    Not ``asyncio.to_thread``: an upload waits on the loop for its data, and a handful of those
    holding every thread of the default pool would starve the very reads that feed them.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def succeed(result: T) -> None:
        if not future.done():
            future.set_result(result)

    def fail(error: BaseException) -> None:
        if not future.done():
            future.set_exception(error)

    def target() -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
            try:
                result = call()
            except BaseException as exc:  # handed to the awaiting task
                loop.call_soon_threadsafe(fail, exc)
            else:
                loop.call_soon_threadsafe(succeed, result)

    threading.Thread(target=target, name=name, daemon=True).start()
    return future
