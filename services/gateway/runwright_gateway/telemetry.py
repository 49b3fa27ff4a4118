"""HTTP spans: one server span per routed request, named ``METHOD /route/{template}``, with the
URL's path only (the query string may hold a token) and no request headers. Requests to the probes
(``/healthz``, ``/readyz``) make no span.

Our own middleware rather than Litestar's OpenTelemetry plugin: the plugin's ASGI instrumentation
set some fifteen attributes and metric labels per request that nothing reads, and was about a
third of what tracing added to a submission's latency (measured beside ``make bench
BENCH_ARGS=instrumentation``). This one runs after routing, so the span is named by its route
template from the start, and it takes the caller's W3C trace context (and baggage) from the
request headers the propagator names.
"""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from runwright_common.tracing import disabled

_tracer = trace.get_tracer("runwright_gateway.http")

UNTRACED = frozenset({"/healthz", "/readyz"})
"""Probes (a kubelet asks every few seconds): no span."""


class ServerSpans:
    """A server span around each HTTP request, current while it is handled (so the access log
    line, the database and the messages it sends are in it); error status on a 5xx answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.carried = frozenset(f.encode() for f in propagate.get_global_textmap().fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in UNTRACED:
            await self.app(scope, receive, send)
            return
        method, route = str(scope["method"]), str(scope.get("path_template") or "unmatched")
        callers = self._callers(scope)
        span = _tracer.start_span(
            f"{method} {route}",
            callers,
            kind=SpanKind.SERVER,
            attributes={
                "http.method": method,
                "http.route": route,
                "http.target": scope["path"],
                "http.scheme": str(scope.get("scheme", "http")),
            },
        )

        async def answering(message: Message) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.status_code", message["status"])
                if message["status"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            await send(message)

        token = otel_context.attach(trace.set_span_in_context(span, callers))
        try:
            await self.app(scope, receive, answering)
        except Exception as exc:  # the class alone: a message may hold a value
            span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
            raise
        finally:
            span.end()
            otel_context.detach(token)

    def _callers(self, scope: Scope) -> otel_context.Context | None:
        """The caller's trace context, if its request carries one."""
        carrier = {
            key.decode("latin-1"): value.decode("latin-1")
            for key, value in scope["headers"]
            if key in self.carried
        }
        return propagate.extract(carrier) if carrier else None


def middleware() -> list[type[ServerSpans]]:
    """The span middleware, unless tracing is off (``OTEL_SDK_DISABLED=true``)."""
    return [] if disabled() else [ServerSpans]
