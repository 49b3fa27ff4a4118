"""A relay in front of nats-server that loses chosen messages on their way to the client: what a
reply lost with a dying NATS node looks like to the one who asked (the request was delivered and
answered, and nothing came back).

with nats_tap(nats_port, lose_once(granted_claim)) as tap:
    ... the client connects to tap.address ...
    tap.lost   # the payloads it dropped
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .proxy import Change, relay

Pick = Callable[[bytes], bool]
"""Whether to lose a message, from its payload (an ``HMSG``'s headers and body)."""


def granted_claim(payload: bytes) -> bool:
    """A ``ClaimReply`` that grants a job (msgspec writes the tag first, with no spaces)."""
    return payload.find(b'{"type":"job.claimed","granted":true') >= 0


@dataclass
class Tap:
    address: str
    lost: list[bytes] = field(default_factory=list)


def lose_once(pick: Pick) -> Pick:
    """``pick``, for the first message it picks only (on whichever connection)."""
    lock = threading.Lock()
    done = threading.Event()

    def once(payload: bytes) -> bool:
        with lock:
            if done.is_set() or not pick(payload):
                return False
            done.set()
            return True

    return once


class Deliveries:
    """One connection's server-to-client bytes, split into protocol operations: a ``MSG`` or
    ``HMSG`` that ``lose`` picks is dropped whole; everything else passes as it came."""

    def __init__(self, lose: Pick, lost: list[bytes]) -> None:
        self.lose, self.lost = lose, lost
        self.buffer = b""

    def __call__(self, chunk: bytes) -> bytes:
        self.buffer += chunk
        passed = bytearray()
        while (end := self.buffer.find(b"\r\n")) >= 0:
            line = self.buffer[:end]
            whole = end + 2
            operation = line.split(b" ", 1)[0].upper()
            if operation in (b"MSG", b"HMSG"):
                size = int(line.rsplit(b" ", 1)[1])  # the last field: the payload's bytes
                if len(self.buffer) < whole + size + 2:
                    break  # the rest of this message is still on its way
                payload = self.buffer[whole : whole + size]
                whole += size + 2
                if self.lose(payload):
                    self.lost.append(payload)
                    self.buffer = self.buffer[whole:]
                    continue
            passed += self.buffer[:whole]
            self.buffer = self.buffer[whole:]
        return bytes(passed)


@contextmanager
def nats_tap(nats_port: int, lose: Pick) -> Iterator[Tap]:
    lost: list[bytes] = []

    def downstream() -> Change:
        return Deliveries(lose, lost)

    with relay(nats_port, downstream) as proxy:
        yield Tap(address=f"nats://127.0.0.1:{proxy.port}", lost=lost)
