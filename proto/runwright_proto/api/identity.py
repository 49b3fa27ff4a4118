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
    publish_approval: bool = False
    """Only an Admin or an Owner publishes runbook versions (Developers write drafts)."""


class WorkspaceSettings(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/v1/workspaces/current`` (Admins): the workspace's settings."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    publish_approval: bool | None = None


class WorkspaceList(Struct, kw_only=True):
    items: list[WorkspaceView]


Email = Annotated[
    str,
    Meta(
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="an e-mail address; compared without case",
    ),
]


class UserView(Struct, kw_only=True):
    id: str
    email: str
    name: str


class MeView(Struct, kw_only=True):
    """``GET /api/v1/me``: who the credential is, where it acts and as what."""

    actor: str
    """What the records say this caller did things as: ``user:<email>``, ``key:<name>`` or
    ``admin``."""
    user: UserView | None
    """The person, when signed in as one."""
    workspace: str
    role: str
    workspaces: list[WorkspaceView]
    """Every workspace this caller may name with ``X-Workspace``, with its role there."""


class PasswordChange(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/me/password``: every other session of the person ends."""

    current_password: Annotated[str, Meta(max_length=256)]
    new_password: Annotated[str, Meta(max_length=256)]
    """At least 12 characters."""


class SessionsEnded(Struct, kw_only=True):
    ended: int
    """How many sessions ended."""


class MemberView(Struct, kw_only=True):
    user_id: str
    email: str
    name: str
    role: str
    workspace: str
    created_by: str
    created_at: datetime
    sessions: int
    """Live console sessions of the person."""


class MemberList(Struct, kw_only=True):
    items: list[MemberView]


class RoleChange(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/v1/members/{user_id}``."""

    role: Role


class InvitationRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/invitations``: a link, valid 7 days, to join the caller's workspace."""

    email: Email
    role: Role
    """No higher than the inviter's own role."""


class InvitationView(Struct, kw_only=True):
    id: str
    workspace: str
    email: str
    role: str
    status: str
    """``pending``, ``accepted``, ``cancelled`` or ``expired``."""
    created_by: str
    created_at: datetime
    sent_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    cancelled_at: datetime | None
    mailed: bool = False
    """Whether it went out by e-mail (SMTP configured) when it was created or resent."""
    link: str | None = None
    """The link to pass on, in the answer to creating or resending only, when it was not mailed."""


class InvitationList(Struct, kw_only=True):
    items: list[InvitationView]


class AcceptRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/invitations/accept``: the invitation's token and the account's password
    (a new account's, or the existing one's for an address that has one)."""

    token: Annotated[str, Meta(min_length=1, max_length=200)]
    password: Annotated[str, Meta(max_length=256)]
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    """A new account's display name (the address when absent)."""


class AcceptedView(Struct, kw_only=True):
    workspace: str
    role: str
    user: UserView


class WorkspaceLimits(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PUT /api/v1/workspaces/current/limits``: a workspace's own limits (``null``: the
    installation's, ``RUNWRIGHT_WORKSPACE_CONCURRENCY`` and ``RUNWRIGHT_MAX_QUEUED``)."""

    concurrency: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    """Jobs of the workspace running at once; 0 holds every new job queued."""
    max_queued: Annotated[int, Meta(ge=0, le=10_000_000)] | None = None
    """Jobs of the workspace waiting at once; past it a submission answers 429."""


class WorkspaceLimitsView(Struct, kw_only=True):
    workspace: str
    concurrency: int | None
    max_queued: int | None
    updated_by: str | None
    updated_at: datetime | None
