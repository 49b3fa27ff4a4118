"""A loopback TCP relay in front of a real server, that can cut every open connection.

with relay(gateway_port) as proxy:
    ... talk to proxy.url ...
    proxy.cut()   # what a dropped network connection looks like to both ends

``downstream`` makes, per connection, a function through which everything the server sends
passes on its way to the client (``support.nats_tap`` drops chosen NATS messages with it).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Change = Callable[[bytes], bytes]
"""What reaches the client of what the server sent (a chunk in, the bytes to pass on out)."""


class Relay:
    def __init__(self, target_port: int, downstream: Callable[[], Change] | None = None) -> None:
        self.target_port = target_port
        self.downstream = downstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.open: list[socket.socket] = []
        self.accepted = 0
        self.lock = threading.Lock()

    def serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # the listener was closed: the relay is done
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.open += [client, upstream]
                self.accepted += 1
            change = self.downstream() if self.downstream is not None else None
            for source, sink, how in ((client, upstream, None), (upstream, client, change)):
                threading.Thread(target=_pump, args=(source, sink, how), daemon=True).start()

    def cut(self) -> None:
        """Reset every connection open now; new ones are relayed as before."""
        with self.lock:
            doomed, self.open = self.open, []
        for sock in doomed:
            _close(sock)

    def close(self) -> None:
        self.listener.close()
        self.cut()


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _pump(source: socket.socket, sink: socket.socket, change: Change | None = None) -> None:
    with contextlib.suppress(OSError):  # the relay cut the connection, or a side hung up
        while chunk := source.recv(65536):
            sink.sendall(change(chunk) if change is not None else chunk)
    _close(sink)


@contextmanager
def relay(target_port: int, downstream: Callable[[], Change] | None = None) -> Iterator[Relay]:
    proxy = Relay(target_port, downstream)
    thread = threading.Thread(target=proxy.serve, name="tcp-relay", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(timeout=5)
