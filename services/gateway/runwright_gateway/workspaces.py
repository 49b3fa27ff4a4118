"""Workspaces, as the gateway records them (``gateway.workspaces``)."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def exists(pool: asyncpg.Pool, slug: str) -> bool:
    found: bool = await pool.fetchval(
        "SELECT EXISTS (SELECT FROM gateway.workspaces WHERE slug = $1)", slug
    )
    return found


async def every(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch("SELECT * FROM gateway.workspaces ORDER BY slug")
    return rows


async def one(pool: asyncpg.Pool, slug: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT * FROM gateway.workspaces WHERE slug = $1", slug
    )
    return row


async def create(
    pool: asyncpg.Pool, slug: str, name: str, by: str, owner: UUID | None = None
) -> asyncpg.Record | None:
    """The new workspace (with ``owner``, a person, as its first Owner), or None when the slug
    is taken."""
    async with pool.acquire() as conn, conn.transaction():
        row: asyncpg.Record | None = await conn.fetchrow(
            "INSERT INTO gateway.workspaces (slug, name, created_by) VALUES ($1, $2, $3)"
            " ON CONFLICT (slug) DO NOTHING RETURNING *",
            slug,
            name,
            by,
        )
        if row is not None and owner is not None:
            await conn.execute(
                "INSERT INTO gateway.memberships (workspace, user_id, role, created_by)"
                " VALUES ($1, $2, 'owner', $3)",
                slug,
                owner,
                by,
            )
    return row
