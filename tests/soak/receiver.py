"""A third party's webhook receiver on loopback: keeps each call's delivery id, and drops a
repeat of an id it has seen (as the delivery id lets any receiver do)."""

from __future__ import annotations

import json
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        """Calls per delivery id (above 1: a repeat the receiver dropped)."""
        self.first: dict[str, tuple[str, str]] = {}
        """Delivery id → (event, job id) of its first call."""
        self.unnamed = 0
        """Calls without a delivery id (the receiver could not tell a repeat)."""
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.received(self.headers.get("X-Runwright-Delivery"), body)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def received(self, delivery_id: str | None, body: bytes) -> None:
        with self._lock:
            if not delivery_id:
                self.unnamed += 1
                return
            self.calls[delivery_id] += 1
            if delivery_id not in self.first:
                notice = json.loads(body)
                self.first[delivery_id] = (notice.get("event", ""), notice.get("job_id", ""))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
