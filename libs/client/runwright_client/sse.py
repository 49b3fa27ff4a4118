"""A job's event stream: Server-Sent Events parsed line by line, and where to resume.

The gateway numbers a job's events (the SSE ``id`` is the event's ``seq``) and ends the stream
after the terminal ``status`` event. A stream that ends before that (a dropped connection, a
gateway restart) is resumed with ``Last-Event-ID``, so no event is lost or repeated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec
from runwright_proto.events import JobEvent, StatusEvent
from runwright_proto.jobs import TERMINAL

EVENT_TYPES = frozenset({"status", "step", "report", "artifact", "approval"})
"""The ``event:`` names that are job events; others (live ``screenshot`` frames) are skipped."""
_decoder = msgspec.json.Decoder(JobEvent)


@dataclass(frozen=True)
class Message:
    event: str
    data: str
    id: str | None


@dataclass
class SseParser:
    """Feed it the stream's lines; it returns each message when its blank line arrives."""

    retry_ms: int | None = None
    _event: str = ""
    _data: list[str] = field(default_factory=list)
    _id: str | None = None

    def feed(self, line: str) -> Message | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def _dispatch(self) -> Message | None:
        data, event, ident = self._data, self._event, self._id
        self._data, self._event, self._id = [], "", None
        if not data:
            return None
        return Message(event=event or "message", data="\n".join(data), id=ident)


@dataclass
class EventCursor:
    """Where a job's stream stands: the last event id seen, and whether it has ended."""

    last_id: int = 0
    done: bool = False
    parser: SseParser = field(default_factory=SseParser)

    def headers(self) -> dict[str, str]:
        return {"Last-Event-ID": str(self.last_id)} if self.last_id else {}

    def restart(self) -> None:
        """A new connection: forget a message cut off half-way."""
        self.parser = SseParser(retry_ms=self.parser.retry_ms)

    def delay_s(self, failures: int) -> float:
        base = (self.parser.retry_ms or 1000) / 1000
        return min(base * max(failures, 1), 10.0)

    def feed(self, line: str) -> JobEvent | None:
        message = self.parser.feed(line)
        if message is None or message.event not in EVENT_TYPES or message.id is None:
            return None
        seq = int(message.id)
        if seq <= self.last_id:
            return None
        event: JobEvent = _decoder.decode(message.data)
        self.last_id = seq
        if isinstance(event, StatusEvent) and event.status in TERMINAL:
            self.done = True
        return event
