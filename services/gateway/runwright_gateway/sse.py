"""A job's event stream over SSE: replay from Postgres after ``Last-Event-ID``, then live.

Lossless and duplicate-free: the listener is registered before the replay, live events at or below
the last sent ``seq`` are dropped, and a gap (a missed live event) is filled from Postgres.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncGenerator
from uuid import UUID

import asyncpg
import msgspec
from litestar.response import ServerSentEventMessage
from runwright_proto.jobs import TERMINAL

from runwright_gateway.events_hub import EventHub, Frame

RETRY_MS = 1000


class _Kind(msgspec.Struct):
    type: str
    status: str | None = None


_kind = msgspec.json.Decoder(_Kind)
_json = msgspec.json.Encoder().encode


def ends_stream(body: bytes | str) -> bool:
    kind = _kind.decode(body)
    return kind.type == "status" and kind.status in TERMINAL


def message(seq: int, body: bytes | str) -> ServerSentEventMessage:
    text = body.decode() if isinstance(body, bytes) else body
    return ServerSentEventMessage(data=text, event=_kind.decode(text).type, id=seq)


async def _replay(pool: asyncpg.Pool, job_id: UUID, after: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT seq, body FROM queue.job_events WHERE job_id = $1 AND seq > $2 ORDER BY seq",
        job_id,
        after,
    )
    return rows


def screenshot(frame: Frame) -> ServerSentEventMessage:
    """A live frame: no ``id`` (frames are not job events), so resuming is unaffected."""
    body = {
        "job_id": frame.job_id,
        "frame": frame.number,
        "captured_at": frame.captured_at,
        "sent_at": time.time(),
        "width": frame.width,
        "height": frame.height,
        "jpeg": base64.b64encode(frame.jpeg).decode(),
    }
    return ServerSentEventMessage(data=_json(body), event="screenshot")


async def job_events(
    pool: asyncpg.Pool,
    hub: EventHub,
    job_id: UUID,
    after: int,
    keepalive_s: float,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    listener = hub.listen(str(job_id))
    last = after
    try:
        yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment="runwright job events")
        while True:
            for row in await _replay(pool, job_id, last):
                yield message(row["seq"], row["body"])
                last = row["seq"]
                if ends_stream(row["body"]):
                    return
            while True:
                if listener.overflowed or hub.closing:
                    return
                if listener.frame is not None:
                    frame, listener.frame = listener.frame, None
                    yield screenshot(frame)
                    continue
                try:
                    seq, body = listener.queue.get_nowait()
                except asyncio.QueueEmpty:
                    listener.wake.clear()
                    try:
                        await asyncio.wait_for(listener.wake.wait(), keepalive_s)
                    except TimeoutError:
                        yield ServerSentEventMessage(data=None, comment="keep-alive")
                        break
                    continue
                if seq <= last:
                    continue
                if seq > last + 1:
                    break
                yield message(seq, body)
                last = seq
                if ends_stream(body):
                    return
    finally:
        hub.forget(listener)
