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
from runwright_runbook.parse import FieldError

from runwright_gateway.events_hub import EventHub, Frame
from runwright_gateway.problems import invalid

RETRY_MS = 1000
EVENT_TYPES = frozenset({"status", "step", "artifact", "approval", "report"})
"""Job event types a client can ask for with ``?types=`` (live frames are ``?live=1``)."""


class _Kind(msgspec.Struct):
    type: str
    status: str | None = None


_kind = msgspec.json.Decoder(_Kind)
_json = msgspec.json.Encoder().encode


def parse_types(types: str | None) -> frozenset[str] | None:
    """``"status,step"`` → those types; None or empty → every type; an unknown one → 422."""
    if not types:
        return None
    asked = frozenset(t.strip() for t in types.split(",") if t.strip())
    unknown = sorted(asked - EVENT_TYPES)
    if unknown:
        message = f"unknown event type {unknown[0]!r}; one of " + ", ".join(sorted(EVENT_TYPES))
        raise invalid([FieldError("types", message)])
    return asked or None


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


def wanted(types: frozenset[str] | None, seq: int, body: bytes | str) -> ServerSentEventMessage:
    """The event as sent to a client that asked only for ``types`` (None: every type). Another
    type is sent as its id alone: no event fires, but the client's resume position moves on."""
    text = body.decode() if isinstance(body, bytes) else body
    kind = _kind.decode(text).type
    if types is None or kind in types:
        return ServerSentEventMessage(data=text, event=kind, id=seq)
    return ServerSentEventMessage(data=None, id=seq)


async def job_events(
    pool: asyncpg.Pool,
    hub: EventHub,
    job_id: UUID,
    after: int,
    keepalive_s: float,
    *,
    types: frozenset[str] | None = None,
    live: bool = False,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    """The job's events after ``after``; ``types`` keeps only those; live frames (``screenshot``,
    without ids) only when ``live``. Filtered-out events whose ids matter are sent as ids alone
    (see :func:`wanted`), so a resumed stream never replays them."""
    listener = hub.listen(str(job_id), frames=live)
    last = after
    try:
        yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment="runwright job events")
        while True:
            for row in await _replay(pool, job_id, last):
                out = wanted(types, row["seq"], row["body"])
                last = row["seq"]
                if out.data is not None or ends_stream(row["body"]):
                    yield out
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
                out = wanted(types, seq, body)
                last = seq
                if out.data is not None or ends_stream(body):
                    yield out
                if ends_stream(body):
                    return
    finally:
        hub.forget(listener)
