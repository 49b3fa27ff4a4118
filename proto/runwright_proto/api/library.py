"""Stored runbooks over HTTP (``/api/v1/runbooks``): a runbook with a slug and a title in a
workspace, and its immutable numbered versions (draft until published; one published version is
the one ``runbook_ref: "<slug>"`` runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

RunbookSlug = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$",
        description="1 to 64 lower-case letters, digits and dashes, not starting or ending with a "
        "dash",
    ),
]
Message = Annotated[str, Meta(max_length=500)]


class RunbookCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/runbooks``: a new runbook and its version 1 (a draft)."""

    slug: RunbookSlug
    runbook: str | dict[str, Any]
    """YAML text (kept as written) or a JSON object."""
    title: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    """Defaults to the runbook's own ``title``."""
    message: Message = ""
    publish: bool = False
    """Publish version 1 at once."""


class RunbookUpdate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/v1/runbooks/{slug}``: rename, or restore an archived runbook."""

    title: Annotated[str, Meta(min_length=1, max_length=300)] | None = None
    archived: bool | None = None


class VersionCreate(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/runbooks/{slug}/versions``: a new draft version."""

    runbook: str | dict[str, Any]
    message: Message = ""


class VersionSummary(Struct, kw_only=True):
    number: int
    content_hash: str
    """SHA-256 of the version's text."""
    author: str
    message: str
    created_at: datetime
    published: bool
    """This is the runbook's published version now."""
    steps: int
    title: str


class VersionView(VersionSummary, kw_only=True):
    source: str
    """The runbook as written (YAML, or JSON for one sent as an object)."""
    document: dict[str, Any]


class RecentRun(Struct, kw_only=True):
    id: str
    status: str
    created_at: datetime
    duration_ms: int | None


class RunbookView(Struct, kw_only=True):
    slug: str
    title: str
    workspace: str
    created_by: str
    created_at: datetime
    latest_version: int
    published_version: int | None
    published_by: str | None
    published_at: datetime | None
    archived: bool
    versions: list[VersionSummary] = []
    """Newest first (in a single runbook's answer; empty in lists)."""
    recent: list[RecentRun] = []
    """Its last 20 runs, newest first."""
    success_rate: float | None = None
    """Of those that ended: the share that completed (None: none ended yet)."""
    median_duration_ms: int | None = None
    """Of those that completed."""


class RunbookList(Struct, kw_only=True):
    items: list[RunbookView]


class VersionDiff(Struct, kw_only=True):
    slug: str
    base: int
    head: int
    diff: str
    """A unified diff of the two versions' text (empty when they are the same)."""
    steps_changed: list[int]
    """Ordinals of steps added, removed or changed from ``base`` to ``head``."""
