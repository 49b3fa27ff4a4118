"""Reading a Server-Sent Events stream with a real HTTP client."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Event:
    id: int
    event: str
    data: dict[str, Any]
    received_at: float = 0.0


def read_events(
    client: httpx.Client,
    path: str,
    *,
    last_event_id: int | None = None,
    limit: int | None = None,
    timeout: float = 60,
    frames: bool = False,
    until: Callable[[Event], bool] | None = None,
) -> tuple[int, list[Event]]:
    """Read events until the server ends the stream (or ``limit`` events); returns the status.

    Live ``screenshot`` frames carry no id; they are kept (with id 0) only when ``frames``.
    ``until`` stops reading after the first event it accepts.
    """
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    events: list[Event] = []
    with client.stream("GET", path, headers=headers, timeout=timeout) as response:
        if response.status_code != 200:
            return response.status_code, events
        assert response.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if "data" in fields and ("id" in fields or frames):
                    events.append(
                        Event(
                            int(fields.get("id", 0)),
                            fields.get("event", "message"),
                            json.loads(fields["data"]),
                            time.time(),
                        )
                    )
                    if limit is not None and len(events) >= limit:
                        break
                    if until is not None and until(events[-1]):
                        break
                fields = {}
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            fields[name] = value[1:] if value.startswith(" ") else value
    return 200, events
