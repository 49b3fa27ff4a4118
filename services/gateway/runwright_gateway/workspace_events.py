"""``GET /api/v1/events``: every job's events in one SSE stream, for lists and dashboards.

The ids are the EVENTS stream's sequence numbers: one order for all jobs, kept by JetStream (the
queue service publishes an event only after Postgres recorded it). Every client of a gateway reads
the same in-memory window of the latest events (``WorkspaceFeed``, one consumer per gateway); a
client resuming from before the window, or one that fell behind it, reads through a replay
consumer of its own until it is back in the window. So a reconnecting client, to this gateway or
another one, misses nothing and sees nothing twice, and a slow one is never cut off. A client that
connects afresh gets a ``ready`` event carrying the current position first; one whose position has
aged out of the stream (or comes from a stream since recreated) gets ``reset`` and should reload
what it shows.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator
from typing import Any

import msgspec
from litestar import Controller, Request, Response, get
from litestar.response import ServerSentEvent, ServerSentEventMessage
from nats.aio.client import Client
from runwright_common.logging import get_logger
from runwright_proto import streams

from runwright_gateway.auth import authorize, principal
from runwright_gateway.events_hub import EventHub
from runwright_gateway.jobs_api import SSE_HEADERS, After, last_event_id
from runwright_gateway.responses import answers, event_stream, problems
from runwright_gateway.sse import RETRY_MS, parse_types
from runwright_gateway.workspace_feed import Entry, WorkspaceFeed

log = get_logger("runwright.gateway.workspace_events")

_json = msgspec.json.Encoder().encode


def _event(position: int, kind: str, data: bytes | str) -> ServerSentEventMessage:
    text = data.decode() if isinstance(data, bytes) else data
    return ServerSentEventMessage(data=text, event=kind, id=position)


POLL_S = 1.0
"""How often a quiet stream checks whether the gateway is stopping."""


async def follow(
    nc: Client,
    hub: EventHub,
    feed: WorkspaceFeed,
    after: int | None,
    keepalive_s: float,
    workspace: str,
    types: frozenset[str] | None = None,
) -> AsyncGenerator[ServerSentEventMessage, None]:
    state = (await nc.jetstream().stream_info(streams.EVENTS.name)).state
    yield ServerSentEventMessage(data=None, retry=RETRY_MS, comment="runwright workspace events")
    if after is None:
        after = feed.last
        yield _event(after, "ready", _json({"position": after}))
    elif after > state.last_seq or after < state.first_seq - 1:
        after = feed.last
        yield _event(
            after,
            "reset",
            _json({"position": after, "reason": "events after your position expired"}),
        )
    quiet_since = time.monotonic()
    poll_s = min(keepalive_s, POLL_S)

    def wanted(entry: Entry) -> bool:
        return (
            bool(entry.kind)
            and entry.workspace == workspace
            and (types is None or entry.kind in types)
        )

    while not hub.closing:
        if after < feed.base:  # before the window: catch up from JetStream
            async for entry in feed.replay(after, poll_s):
                if hub.closing:
                    return
                if entry is None:
                    if time.monotonic() - quiet_since >= keepalive_s:
                        yield ServerSentEventMessage(data=None, comment="keep-alive")
                        quiet_since = time.monotonic()
                    continue
                after = entry.seq
                if wanted(entry):
                    yield _event(entry.seq, entry.kind, entry.data)
                    quiet_since = time.monotonic()
            continue
        entries = feed.after(after)
        if not entries:
            await feed.changed(poll_s)
            if time.monotonic() - quiet_since >= keepalive_s:
                yield ServerSentEventMessage(data=None, comment="keep-alive")
                quiet_since = time.monotonic()
            continue
        for entry in entries:
            after = entry.seq
            if wanted(entry):
                yield _event(entry.seq, entry.kind, entry.data)
                quiet_since = time.monotonic()
            if after < feed.base:
                break  # the window moved past this client while it was writing: replay


class WorkspaceEventsController(Controller):
    path = "/api/v1/events"
    guards = [authorize]

    @get(
        "/",
        responses=answers(
            event_stream(
                "Every job's events in the caller's workspace, each with its ``job_id`` and "
                "per-job ``seq``; ids are positions in one order for all jobs. ``ready`` first "
                "on a fresh connection, ``reset`` when the position has expired."
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
        of every job of the caller's workspace, each with its ``job_id`` and per-job ``seq``;
        ids are stream positions. ``types=status,step`` keeps only those."""
        header = request.headers.get("last-event-id")
        since = last_event_id(request, after) if header or after is not None else None
        wanted = parse_types(types)
        state = request.app.state
        return ServerSentEvent(
            follow(
                state.nc,
                state.hub,
                state.feed,
                since,
                state.settings.sse_keepalive_s,
                principal(request).workspace,
                wanted,
            ),
            headers=SSE_HEADERS,
        )
