"""The audit log over HTTP: who changed what, when, from where, and how it ended."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from msgspec import Struct


class AuditEntry(Struct, kw_only=True):
    """One request that changed (or tried to change) something."""

    id: int
    """Increasing: pages are cut by it (``before``)."""
    at: datetime
    workspace: str | None
    """None for a request no workspace was known for (a sign-in, an unknown token)."""
    actor: str
    """``admin``, ``key:<name>``, ``user:<email>`` or ``anonymous``."""
    action: str
    """``<resource>.<verb>``: ``job.create``, ``job.cancel``, ``key.delete``, ``signin``..."""
    target: str | None
    """The id(s) in the path, or the id of what a creation made."""
    outcome: str
    """``ok`` (2xx, 3xx), ``denied`` (401, 403, 404, 429) or ``failed``."""
    status: int
    source: str | None
    """The client's address as the gateway saw it."""
    request_id: str | None
    detail: dict[str, Any]
    """The operation, the names of the body's fields and a few harmless values: never a body,
    never a secret."""


class AuditPage(Struct, kw_only=True):
    items: list[AuditEntry]
    next_before: int | None
    """Pass as ``before`` for the next (older) page; None on the last page."""
