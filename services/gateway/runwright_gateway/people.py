"""People as the gateway records them: accounts (``gateway.users``), their memberships of
workspaces and the invitations that make memberships."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from uuid import UUID, uuid4

import asyncpg

INVITATION_DAYS = 7


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def by_email(pool: asyncpg.Pool | asyncpg.Connection, email: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT * FROM gateway.users WHERE lower(email) = lower($1)", email
    )
    return row


async def by_id(pool: asyncpg.Pool | asyncpg.Connection, user_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT * FROM gateway.users WHERE id = $1", user_id
    )
    return row


async def memberships(pool: asyncpg.Pool, user_id: UUID) -> list[asyncpg.Record]:
    """The person's workspaces, the one joined first first (where a request without
    ``X-Workspace`` acts)."""
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT w.slug, m.role, w.name, w.created_by, w.created_at, w.publish_approval"
        "  FROM gateway.memberships m JOIN gateway.workspaces w ON w.slug = m.workspace"
        " WHERE m.user_id = $1 ORDER BY m.created_at, m.workspace",
        user_id,
    )
    return rows


async def role_in(
    pool: asyncpg.Pool, user_id: UUID, workspace: str | None, preferred: str | None = None
) -> asyncpg.Record | None:
    """(workspace, role) of the person in ``workspace``; when None, in ``preferred`` if they
    still belong to it, else in their first one."""
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT workspace, role FROM gateway.memberships WHERE user_id = $1"
        " AND ($2::text IS NULL OR workspace = $2)"
        " ORDER BY workspace IS DISTINCT FROM $3::text, created_at, workspace LIMIT 1",
        user_id,
        workspace,
        preferred,
    )
    return row


MEMBERS = """
SELECT m.user_id, u.email, u.name, m.role, m.workspace, m.created_by, m.created_at,
       (SELECT count(*) FROM gateway.sessions s
         WHERE s.user_id = m.user_id AND s.ended_at IS NULL AND s.expires_at > now()) AS sessions
  FROM gateway.memberships m JOIN gateway.users u ON u.id = m.user_id
 WHERE m.workspace = $1 AND ($2::uuid IS NULL OR m.user_id = $2)
 ORDER BY m.created_at, u.email
"""


async def members(pool: asyncpg.Pool, workspace: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(MEMBERS, workspace, None)
    return rows


async def member(pool: asyncpg.Pool, workspace: str, user_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(MEMBERS, workspace, user_id)
    return row


async def owners(conn: asyncpg.Connection, workspace: str) -> int:
    """Owners of the workspace, counted with their rows locked (the last one cannot go)."""
    rows = await conn.fetch(
        "SELECT user_id FROM gateway.memberships WHERE workspace = $1 AND role = 'owner'"
        " FOR UPDATE",
        workspace,
    )
    return len(rows)


def new_token() -> str:
    return "inv_" + secrets.token_urlsafe(32)


INVITATION = """
SELECT *, CASE WHEN accepted_at IS NOT NULL THEN 'accepted'
               WHEN cancelled_at IS NOT NULL THEN 'cancelled'
               WHEN expires_at <= now() THEN 'expired'
               ELSE 'pending' END AS status
  FROM gateway.invitations
"""


async def invite(
    pool: asyncpg.Pool, *, workspace: str, email: str, role: str, by: str
) -> tuple[str, asyncpg.Record]:
    """(the link's token, the invitation). An open invitation of the address is renewed: a new
    token (the old link stops working), the new role, seven more days."""
    token = new_token()
    row = await pool.fetchrow(
        "INSERT INTO gateway.invitations (id, workspace, email, role, digest, created_by,"
        " expires_at) VALUES ($1, $2, $3, $4, $5, $6, now() + $7)"
        " ON CONFLICT (workspace, lower(email)) WHERE accepted_at IS NULL AND cancelled_at IS NULL"
        " DO UPDATE SET role = EXCLUDED.role, digest = EXCLUDED.digest, sent_at = now(),"
        " expires_at = EXCLUDED.expires_at, created_by = EXCLUDED.created_by RETURNING id",
        uuid4(),
        workspace,
        email,
        role,
        token_digest(token),
        by,
        timedelta(days=INVITATION_DAYS),
    )
    assert row is not None
    found = await invitation(pool, workspace, row["id"])
    assert found is not None
    return token, found


async def invitation(pool: asyncpg.Pool, workspace: str, inv_id: UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        INVITATION + " WHERE workspace = $1 AND id = $2", workspace, inv_id
    )
    return row


async def invitations(pool: asyncpg.Pool, workspace: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        INVITATION + " WHERE workspace = $1 ORDER BY created_at DESC, id DESC", workspace
    )
    return rows


async def resend(pool: asyncpg.Pool, workspace: str, inv_id: UUID) -> str | None:
    """A new token for a pending (or expired) invitation; None when it is accepted, cancelled or
    not there."""
    token = new_token()
    row = await pool.fetchrow(
        "UPDATE gateway.invitations SET digest = $3, sent_at = now(), expires_at = now() + $4"
        " WHERE workspace = $1 AND id = $2 AND accepted_at IS NULL AND cancelled_at IS NULL"
        " RETURNING id",
        workspace,
        inv_id,
        token_digest(token),
        timedelta(days=INVITATION_DAYS),
    )
    return None if row is None else token


async def cancel(
    pool: asyncpg.Pool, workspace: str, inv_id: UUID, by: str
) -> asyncpg.Record | None:
    """Cancel a pending invitation (again: a no-op); answers the row as it is now."""
    await pool.execute(
        "UPDATE gateway.invitations SET cancelled_at = now(), cancelled_by = $3"
        " WHERE workspace = $1 AND id = $2 AND accepted_at IS NULL AND cancelled_at IS NULL",
        workspace,
        inv_id,
        by,
    )
    return await invitation(pool, workspace, inv_id)


async def open_invitation(conn: asyncpg.Connection, token: str) -> asyncpg.Record | None:
    """The pending invitation a link's token names, locked; None for any other."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT * FROM gateway.invitations WHERE digest = $1 AND accepted_at IS NULL"
        " AND cancelled_at IS NULL AND expires_at > now() FOR UPDATE",
        token_digest(token),
    )
    return row


async def create_user(
    conn: asyncpg.Connection, email: str, name: str, password_hash: str
) -> asyncpg.Record:
    row = await conn.fetchrow(
        "INSERT INTO gateway.users (id, email, name, password_hash) VALUES ($1, $2, $3, $4)"
        " RETURNING *",
        uuid4(),
        email,
        name,
        password_hash,
    )
    assert row is not None
    return row


async def join(conn: asyncpg.Connection, invitation: asyncpg.Record, user_id: UUID) -> None:
    """Make the membership the invitation offers (a member already keeps the higher role)."""
    await conn.execute(
        "INSERT INTO gateway.memberships (workspace, user_id, role, created_by)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (workspace, user_id) DO NOTHING",
        invitation["workspace"],
        user_id,
        invitation["role"],
        invitation["created_by"],
    )
    await conn.execute(
        "UPDATE gateway.invitations SET accepted_at = now(), accepted_by = $2 WHERE id = $1",
        invitation["id"],
        user_id,
    )


async def set_password(conn: asyncpg.Connection, user_id: UUID, password_hash: str) -> None:
    await conn.execute(
        "UPDATE gateway.users SET password_hash = $2, password_changed_at = now() WHERE id = $1",
        user_id,
        password_hash,
    )
