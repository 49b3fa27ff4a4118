"""Workspaces and the API keys that act in them, over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta, Struct

Role = Annotated[str, Meta(description="owner, admin, developer, member or viewer")]
Slug = Annotated[
    str,
    Meta(
        pattern=r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$",
        description="lower-case letters, digits and inner hyphens, at most 40",
    ),
]


class KeyRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/keys``: a named key in the caller's workspace."""

    name: Annotated[str, Meta(min_length=1, max_length=100)]
    role: Role
    """No higher than the creator's own role."""
    expires_at: datetime | None = None
    """When the key stops working (timezone-aware, in the future); never when absent."""


class KeyView(Struct, kw_only=True):
    id: str
    name: str
    prefix: str
    """The key's first characters, ``rw_xxxxxxxx``: enough to tell keys apart."""
    role: str
    workspace: str
    status: str
    """``active``, ``expired`` or ``revoked``."""
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    """To the minute: a busy key is not written on every call."""
    revoked_at: datetime | None
    revoked_by: str | None


class CreatedKeyView(KeyView, kw_only=True):
    key: str
    """Shown only here: Runwright keeps only its hash."""


class KeyList(Struct, kw_only=True):
    items: list[KeyView]


class WorkspaceRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/workspaces``."""

    slug: Slug
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class WorkspaceView(Struct, kw_only=True):
    slug: str
    name: str
    created_by: str
    created_at: datetime
    role: str | None = msgspec.field(default=None)
    """The caller's role in it."""


class WorkspaceList(Struct, kw_only=True):
    items: list[WorkspaceView]
