"""Reading a Server-Sent Events stream with a real HTTP client."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    id: int
    event: str
    data: dict[str, Any]


def read_events(
    client: httpx.Client,
    path: str,
    *,
    last_event_id: int | None = None,
    limit: int | None = None,
    timeout: float = 60,
) -> tuple[int, list[Event]]:
    """Read events until the server ends the stream (or ``limit`` events); returns the status."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    events: list[Event] = []
    with client.stream("GET", path, headers=headers, timeout=timeout) as response:
        if response.status_code != 200:
            return response.status_code, events
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if "data" in fields and "id" in fields:
                    events.append(
                        Event(
                            int(fields["id"]),
                            fields.get("event", "message"),
                            json.loads(fields["data"]),
                        )
                    )
                    if limit is not None and len(events) >= limit:
                        break
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
    return 200, events
