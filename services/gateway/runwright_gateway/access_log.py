"""One access log line per HTTP request: method, route template, status, duration, request id,
workspace. Never the query string (it may hold a token) nor any header but the request id."""

from __future__ import annotations

import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from runwright_common.logging import get_logger

log = get_logger("runwright.gateway.access")

QUIET = frozenset({"/healthz", "/readyz"})
"""Probes (a kubelet asks every few seconds): logged at debug level only."""


def _request_id(scope: Scope) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            return str(value.decode("latin-1"))
    return None


class AccessLogMiddleware:
    """Runs inside ``AuditMiddleware`` (which settles the request id) and after routing (the
    route template is known); an unmatched path is logged as ``unmatched``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        answer: dict[str, Any] = {"status": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = str(scope.get("path_template") or "unmatched")
            state: dict[str, Any] = scope.get("state") or {}
            principal = state.get("principal")
            write = log.debug if route in QUIET else log.info
            write(
                "request",
                method=scope.get("method"),
                route=route,
                status=answer["status"],
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                request_id=_request_id(scope),
                workspace=getattr(principal, "workspace", None),
            )
