"""A job's artifacts (screenshots, videos, downloads) as the API lists them."""

from __future__ import annotations

from datetime import datetime

from msgspec import Struct


class ArtifactView(Struct, kw_only=True):
    id: str
    job_id: str
    ordinal: int | None
    kind: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime
    expires_at: datetime
    url: str
    """``GET`` it (with the token) to download the file."""


class ArtifactList(Struct, kw_only=True):
    items: list[ArtifactView]
