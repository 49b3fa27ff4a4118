"""A loopback TCP relay in front of a real server, that can cut every open connection.

with relay(gateway_port) as proxy:
    ... talk to proxy.url ...
    proxy.cut()   # what a dropped network connection looks like to both ends
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Relay:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
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
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()

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


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the relay cut the connection, or a side hung up
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    _close(sink)


@contextmanager
def relay(target_port: int) -> Iterator[Relay]:
    proxy = Relay(target_port)
    thread = threading.Thread(target=proxy.serve, name="tcp-relay", daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
        thread.join(timeout=5)
