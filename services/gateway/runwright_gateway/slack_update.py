"""After a Slack click decided an approval, the channel's message says so and loses its buttons:
the gateway posts the outcome to the interaction's ``response_url`` (``replace_original``), as
Slack asks of interactive messages (the answer to the click itself only reaches the clicker).

A ``response_url`` is a short-lived credential for one message: it is posted to only on a host
of ``RUNWRIGHT_SLACK_RESPONSE_HOSTS`` (Slack's ``hooks.slack.com`` unless set), over HTTPS (plain
HTTP only to a loopback address listed there), and never written to a log."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any
from urllib.parse import urlsplit

import httpx
from runwright_common.logging import get_logger

log = get_logger("runwright.gateway.slack")

TIMEOUT_S = 5.0
_pending: set[asyncio.Task[None]] = set()


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def usable(url: Any, hosts: list[str]) -> str | None:
    """``url`` if the gateway may post to it, else None."""
    if not isinstance(url, str) or len(url) > 2000:
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host not in {h.lower() for h in hosts}:
        return None
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(host)):
        return url
    return None


def message(outcome: str | None, action: str, actor: str) -> str | None:
    """What the channel's message becomes; None leaves it (a counted or refused click)."""
    who = actor.removeprefix("user:")
    if outcome == "applied":
        verb = "Approved" if action == "approve" else "Rejected"
        return f"{verb} by {who} in Slack."
    return None


async def _post(http: httpx.AsyncClient, url: str, text: str) -> None:
    host = urlsplit(url).hostname
    try:
        answer = await http.post(url, json={"replace_original": True, "text": text})
        if answer.status_code >= 300:
            log.warning("slack message not updated", host=host, status=answer.status_code)
    except httpx.HTTPError as exc:
        log.warning("slack message not updated", host=host, error=type(exc).__name__)


def update_later(http: httpx.AsyncClient, url: str, text: str) -> None:
    """Post in the background: Slack wants the click answered within three seconds."""
    task = asyncio.create_task(_post(http, url, text))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT_S, follow_redirects=False)
