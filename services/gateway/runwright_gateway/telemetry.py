"""HTTP spans through Litestar's own OpenTelemetry plugin: one server span per request, named
by its route template, with no query string (it may hold a token) and no request headers.
Requests to the probes (``/healthz``, ``/readyz``) make no span."""

from __future__ import annotations

from typing import Any

from litestar.plugins import PluginProtocol
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.types import Scope
from opentelemetry import trace
from opentelemetry.trace import Span
from runwright_common.tracing import disabled

QUERY_ATTRIBUTES = ("http.url", "url.full", "http.target", "url.query")


def span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The span's first name: the method alone (the plugin starts the span before routing, so
    the route is not known yet; :func:`name_span` names it then). Never the raw path, which
    holds ids."""
    return str(scope.get("method", "HTTP")).strip() or "HTTP", {}


def name_span(scope: Scope) -> None:
    """Once routed: the current server span is named ``METHOD /route/{template}``."""
    span = trace.get_current_span()
    if span.is_recording():
        route = str(scope.get("path_template") or "unmatched")
        span.update_name(f"{scope.get('method', 'HTTP')} {route}")
        span.set_attribute("http.route", route)


def strip_query(span: Span, scope: dict[str, Any]) -> None:
    """The instrumentation records the URL with its query string: keep the path alone."""
    if not span.is_recording():
        return
    path = str(scope.get("path", ""))
    recorded = getattr(span, "attributes", None) or {}
    for name in QUERY_ATTRIBUTES:
        if name in recorded:
            span.set_attribute(name, "" if name == "url.query" else path)


def plugins() -> list[PluginProtocol]:
    """The OpenTelemetry plugin, unless tracing is off (``OTEL_SDK_DISABLED=true``)."""
    if disabled():
        return []
    config = OpenTelemetryConfig(
        scope_span_details_extractor=span_details,
        server_request_hook_handler=strip_query,
        exclude=["^/healthz$", "^/readyz$"],
        exclude_spans=["receive", "send"],
    )
    return [OpenTelemetryPlugin(config)]
