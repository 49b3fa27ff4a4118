"""``GET /api/v1/events``: every job's events in one SSE stream, for lists and dashboards.

The ids are the EVENTS stream's sequence numbers: one order for all jobs, kept by JetStream (the
queue service publishes an event only after Postgres recorded it). Each client reads through its
own ordered consumer starting right after its ``Last-Event-ID``, so a reconnecting client, to this
gateway or another one, misses nothing and sees nothing twice. A client that connects afresh gets a
``ready`` event carrying the current position first; one whose position has aged out of the stream
(or comes from a stream since recreated) gets ``reset`` and should reload what it shows.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.response import ServerSentEvent, ServerSentEventMessage
from nats.aio.client import Client
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import ConsumerConfig, DeliverPolicy
from runwright_common.logging import get_logger, logged_failure
from runwright_proto import streams, subjects

from runwright_gateway.auth import require_token
from runwright_gateway.events_hub import EventHub
from runwright_gateway.jobs_api import SSE_HEADERS, After, last_event_id
from runwright_gateway.responses import answers, event_stream, problems
from runwright_gateway.sse import RETRY_MS, parse_types

log = get_logger("runwright.gateway.workspace_events")

INACTIVE_THRESHOLD_S = 60.0
"""The server removes a client's consumer this long after its gateway stopped reading it."""

_json = msgspec.json.Encoder().encode


class _Type(msgspec.Struct):
    type: str = "event"


_type = msgspec.json.Decoder(_Type)


def _event(position: int, kind: str, data: bytes | str) -> ServerSentEventMessage:
    text = data.decode() if isinstance(data, bytes) else data
    return ServerSentEventMessage(data=text, event=kind, id=position)


POLL_S = 1.0
"""How often a quiet stream checks whether the gateway is stopping."""


async def follow(
    nc: Client,
    hub: EventHub,
    after: int | None,
    keepalive_s: float,
    types: frozenset[str] | None = None,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    js = nc.jetstream()
    state = (await js.stream_info(streams.EVENTS.name)).state
    yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment="runwright workspace events")
    if after is None:
        start = state.last_seq + 1
        yield _event(state.last_seq, "ready", _json({"position": state.last_seq}))
    elif after > state.last_seq or after < state.first_seq - 1:
        start = state.last_seq + 1
        yield _event(
            state.last_seq,
            "reset",
            _json({"position": state.last_seq, "reason": "events after your position expired"}),
        )
    else:
        start = after + 1
    sub = await js.subscribe(
        subjects.EVENTS,
        stream=streams.EVENTS.name,
        ordered_consumer=True,
        config=ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=start,
            inactive_threshold=INACTIVE_THRESHOLD_S,
        ),
    )
    quiet_since = time.monotonic()
    try:
        while not hub.closing:
            try:
                msg = await sub.next_msg(timeout=min(keepalive_s, POLL_S))
            except NatsTimeout:
                if time.monotonic() - quiet_since >= keepalive_s:
                    yield ServerSentEventMessage(data=None, comment="keep-alive")
                    quiet_since = time.monotonic()
                continue
            try:
                kind = _type.decode(msg.data).type
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            if types is None or kind in types:
                yield _event(msg.metadata.sequence.stream, kind, msg.data)
                quiet_since = time.monotonic()
    finally:
        with logged_failure(log, "workspace stream consumer not closed"):
            await sub.unsubscribe()


class WorkspaceEventsController(Controller):
    path = "/api/v1/events"
    guards = [require_token]

    @get(
        "/",
        responses=answers(
            event_stream(
                "Every job's events, each with its ``job_id`` and per-job ``seq``; ids are "
                "positions in one order for all jobs. ``ready`` first on a fresh connection, "
                "``reset`` when the position has expired."
            ),
            problems(),
        ),
    )
    async def events(
        self,
        request: Request[Any, Any, Any],
        after: After = None,
        types: str | None = None,
    ) -> Response[Any]:
        """SSE: every job event (``status``, ``step``, ``artifact``, ``approval``, ``report``)
        of every job, each with its ``job_id`` and per-job ``seq``; ids are stream positions.
        ``types=status,step`` keeps only those."""
        header = request.headers.get("last-event-id")
        since = last_event_id(request, after) if header or after is not None else None
        wanted = parse_types(types)
        state = request.app.state
        return ServerSentEvent(
            follow(state.nc, state.hub, since, state.settings.sse_keepalive_s, wanted),
            headers=SSE_HEADERS,
        )
