"""HTTP metrics for every routed request: rate, errors and duration by route template (never the
raw path: ids would make a series per job). An event stream counts once, when it opens, and is not
timed (it lasts as long as its client); it is an SSE client until it closes."""

from __future__ import annotations

import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from runwright_common import metrics


def stream_kind(route: str) -> str:
    """The SSE stream kind of a route: one job's events, or every job's of a workspace."""
    return "job" if "{job_id" in route else "jobs"


class HttpMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not metrics.enabled():
            await self.app(scope, receive, send)
            return
        method, route = str(scope.get("method", "GET")), str(scope.get("path_template", ""))
        started = time.perf_counter()
        answer = {"status": 500, "stream": False}

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                headers = dict(message.get("headers", ()))
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    answer["stream"] = True
                    metrics.http_answered(method, route, message["status"], None)
                    metrics.sse_clients(stream_kind(route), +1)
            await send(message)

        try:
            await self.app(scope, receive, counted)
        finally:
            if answer["stream"]:
                metrics.sse_clients(stream_kind(route), -1)
            else:
                seconds = time.perf_counter() - started
                metrics.http_answered(method, route, int(answer["status"]), seconds)
