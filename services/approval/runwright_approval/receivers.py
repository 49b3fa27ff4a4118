"""Which receiver URLs a webhook may call: http or https, and a host on the allow-list if any.

Loopback and private addresses are allowed unless an allow-list is set (tests and on-premises
receivers use them). Hosts are matched as written in the URL; names are not resolved.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def url_problem(url: str, allowed_hosts: list[str]) -> str | None:
    """Why ``url`` may not receive webhooks, or None when it may."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not host:
        return "must name a host"
    if allowed_hosts and not host_allowed(host, allowed_hosts):
        return f"host {host!r} is not on the allow-list (RUNWRIGHT_WEBHOOK_ALLOWED_HOSTS)"
    return None


def host_allowed(host: str, patterns: list[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(_matches(host, pattern.strip().lower()) for pattern in patterns)


def _matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    if "/" in pattern:
        try:
            return ipaddress.ip_address(host) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return False
    return host == pattern
