"""Server-Sent Events as the API sends them (``text/event-stream``), one event at a time."""

from __future__ import annotations

from msgspec import Struct


class StreamEvent(Struct, kw_only=True):
    """One event of a job's stream or of the workspace stream. ``event`` names it (``status``,
    ``step``, ``artifact``, ``approval``, ``report``; ``ready`` and ``reset`` on the workspace
    stream; ``screenshot`` for live frames); ``data`` is its JSON (the event types in
    ``proto/schema/events.schema.json``); ``id`` is the position to resume from with
    ``Last-Event-ID``. Comment lines (``:``) keep the connection alive."""

    event: str
    data: str
    id: str | None = None
    retry: int | None = None
