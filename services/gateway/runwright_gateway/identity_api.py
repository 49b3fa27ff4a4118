"""``/api/v1/keys`` and ``/api/v1/workspaces``: the keys that act in a workspace, and workspaces.

The gateway owns both tables (``gateway.api_keys``, ``gateway.workspaces``): who may call the API
is the gateway's own decision, made before any other service is asked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, delete, get, patch, post
from runwright_proto.api.identity import (
    CreatedKeyView,
    KeyList,
    KeyRequest,
    KeyView,
    WorkspaceList,
    WorkspaceRequest,
    WorkspaceSettings,
    WorkspaceView,
)
from runwright_runbook.parse import FieldError

from runwright_gateway import api_keys, audit, workspaces
from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.permissions import MEMBERSHIP_ROLES, Role
from runwright_gateway.problems import Problem, conflict, invalid, not_found
from runwright_gateway.responses import problems


def key_view(row: asyncpg.Record, now: datetime) -> KeyView:
    return KeyView(**_key_fields(row, now))


def _key_fields(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "name": row["name"],
        "prefix": row["prefix"],
        "role": row["role"],
        "workspace": row["workspace"],
        "status": api_keys.status(row, now),
        "created_by": row["created_by"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "last_used_at": row["last_used_at"],
        "revoked_at": row["revoked_at"],
        "revoked_by": row["revoked_by"],
    }


def key_errors(data: KeyRequest, holder: Role) -> tuple[list[FieldError], Role | None]:
    errors: list[FieldError] = []
    role = Role.named(data.role) if data.role in MEMBERSHIP_ROLES else None
    if role is None:
        errors.append(FieldError("role", f"must be one of {', '.join(MEMBERSHIP_ROLES)}"))
    if data.expires_at is not None:
        if data.expires_at.tzinfo is None:
            errors.append(FieldError("expires_at", "must carry a timezone, e.g. 2027-01-31T00:00Z"))
        elif data.expires_at <= datetime.now(UTC):
            errors.append(FieldError("expires_at", "must be in the future"))
    if role is not None and role > holder:
        # Refused before anything is written: a key never outranks whoever made it.
        raise Problem(
            403,
            "Forbidden",
            f"role: a key may hold at most your own role ({holder.label}), not {role.label}",
            code="role_too_high",
            errors=[FieldError("role", f"at most {holder.label}")],
        )
    return errors, role


class KeysController(Controller):
    path = "/api/v1/keys"
    guards = [authorize]
    security = SECURITY

    @post("/", status_code=201, responses=problems(403, 409))
    async def create(
        self, request: Request[Any, Any, Any], data: KeyRequest
    ) -> Response[CreatedKeyView]:
        """A named key in the caller's workspace with a role no higher than the caller's; the key
        itself is in this answer only."""
        who = principal(request)
        errors, role = key_errors(data, who.role)
        if errors or role is None:
            raise invalid(errors)
        made = await api_keys.create(
            request.app.state.pool,
            workspace=who.workspace,
            name=data.name.strip(),
            role=role.label,
            created_by=who.actor,
            expires_at=data.expires_at,
        )
        if made is None:
            raise conflict(
                "name",
                f"workspace {who.workspace} has a live key named {data.name.strip()!r}",
                "a live key has this name",
            )
        key, row = made
        view = CreatedKeyView(**_key_fields(row, datetime.now(UTC)), key=key)
        return Response(view, status_code=201, headers={"Location": f"{self.path}/{row['id']}"})

    @get("/", responses=problems())
    async def list_keys(self, request: Request[Any, Any, Any]) -> KeyList:
        """The workspace's keys, newest first: prefix, role, created, last used and status."""
        rows = await api_keys.listing(request.app.state.pool, principal(request).workspace)
        return KeyList(items=[key_view(row, row["now"]) for row in rows])

    @delete("/{key_id:str}", status_code=204, responses=problems(404))
    async def revoke(self, request: Request[Any, Any, Any], key_id: UUID) -> None:
        """Revoke a key: from now on every call with it answers 401. Permanent; again is a
        no-op."""
        who = principal(request)
        if not await api_keys.revoke(request.app.state.pool, who.workspace, key_id, who.actor):
            raise not_found(f"key {key_id}")


def workspace_view(row: asyncpg.Record, role: Role | None) -> WorkspaceView:
    return WorkspaceView(
        slug=row["slug"],
        name=row["name"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        role=None if role is None else ("owner" if role is Role.INSTALLATION else role.label),
        publish_approval=row["publish_approval"],
    )


class WorkspacesController(Controller):
    path = "/api/v1/workspaces"
    guards = [authorize]
    security = SECURITY

    @get("/", responses=problems())
    async def list_workspaces(self, request: Request[Any, Any, Any]) -> WorkspaceList:
        """The workspaces the caller may act in (send ``X-Workspace: <slug>`` to pick one)."""
        who, pool = principal(request), request.app.state.pool
        if who.role is Role.INSTALLATION:
            rows = await workspaces.every(pool)
        else:
            one = await workspaces.one(pool, who.workspace)
            rows = [one] if one is not None else []
        return WorkspaceList(items=[workspace_view(row, who.role) for row in rows])

    @post("/", status_code=201, responses=problems(403, 409))
    async def create(
        self, request: Request[Any, Any, Any], data: WorkspaceRequest
    ) -> Response[WorkspaceView]:
        """A new, empty workspace. A person who is an Owner somewhere makes one and is its first
        Owner; the installation's admin token makes any. A key acts in its own workspace only and
        makes none."""
        who = principal(request)
        if who.key_id is not None:
            raise Problem(
                403,
                "Forbidden",
                "a key acts in its own workspace only; a person or the admin token makes"
                " workspaces",
                code="forbidden",
            )
        name = (data.name or data.slug).strip() or data.slug
        row = await workspaces.create(
            request.app.state.pool, data.slug, name, who.actor, owner=who.user_id
        )
        if row is None:
            raise conflict("slug", f"workspace {data.slug} exists", "taken")
        # Recorded in the new workspace's own log: its Owners read there how it began.
        audit.note(request, workspace=data.slug, target=data.slug)
        view = workspace_view(row, Role.OWNER if who.user_id is not None else who.role)
        return Response(view, status_code=201, headers={"Location": f"{self.path}/{data.slug}"})

    @patch("/current", responses=problems())
    async def update_current(
        self, request: Request[Any, Any, Any], data: WorkspaceSettings
    ) -> WorkspaceView:
        """Rename the workspace, or ask that only Admins publish runbook versions
        (``publish_approval``)."""
        who, pool = principal(request), request.app.state.pool
        row = await pool.fetchrow(
            "UPDATE gateway.workspaces SET name = coalesce($2, name),"
            " publish_approval = coalesce($3, publish_approval) WHERE slug = $1 RETURNING *",
            who.workspace,
            data.name,
            data.publish_approval,
        )
        assert row is not None  # authorize checked it exists
        return workspace_view(row, who.role)

    @get("/current", responses=problems())
    async def current(self, request: Request[Any, Any, Any]) -> WorkspaceView:
        """The workspace this request acts in, and the caller's role there."""
        who = principal(request)
        row = await workspaces.one(request.app.state.pool, who.workspace)
        assert row is not None  # authorize checked it exists
        return workspace_view(row, who.role)
