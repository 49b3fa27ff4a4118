"""API keys: made, recognised and revoked. A key is shown once; only its SHA-256 is kept.

A key reads ``rw_<prefix>_<secret>``: the prefix (8 characters) is stored in clear so people can
tell keys apart in the list; the secret is 32 random bytes. A key holds so much entropy that a slow
hash (argon2) would buy nothing and cost every request: its SHA-256 is looked up directly.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg

PREFIX_ALPHABET = string.ascii_lowercase + string.digits
KEY_PREFIX = "rw_"


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX) and token.count("_") >= 2


def new_key() -> tuple[str, str]:
    """(the key, its visible prefix ``rw_xxxxxxxx``)."""
    prefix = KEY_PREFIX + "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(8))
    return f"{prefix}_{secrets.token_urlsafe(32)}", prefix


LOOKUP = """
WITH used AS (
    -- last_used_at is written at most once a minute per key: a busy key costs no write per call.
    UPDATE gateway.api_keys SET last_used_at = now()
     WHERE digest = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
       AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')
)
SELECT id, workspace, name, role, revoked_at,
       expires_at IS NOT NULL AND expires_at <= now() AS expired
  FROM gateway.api_keys WHERE digest = $1
"""


async def lookup(pool: asyncpg.Pool, key: str) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(LOOKUP, digest(key))
    return row


async def by_id(pool: asyncpg.Pool, key_id: UUID) -> asyncpg.Record | None:
    """The key a console session signed in with, as ``lookup`` answers it."""
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT id, workspace, name, role, revoked_at,"
        " expires_at IS NOT NULL AND expires_at <= now() AS expired"
        " FROM gateway.api_keys WHERE id = $1",
        key_id,
    )
    return row


async def create(
    pool: asyncpg.Pool,
    *,
    workspace: str,
    name: str,
    role: str,
    created_by: str,
    expires_at: datetime | None,
) -> tuple[str, asyncpg.Record] | None:
    """(the key, its row), or None when a live key of that name exists in the workspace."""
    key, prefix = new_key()
    try:
        row = await pool.fetchrow(
            "INSERT INTO gateway.api_keys (id, workspace, name, prefix, digest, role, created_by,"
            " expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            uuid4(),
            workspace,
            name,
            prefix,
            digest(key),
            role,
            created_by,
            expires_at,
        )
    except asyncpg.UniqueViolationError:
        return None
    assert row is not None
    return key, row


async def listing(pool: asyncpg.Pool, workspace: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT *, now() AS now FROM gateway.api_keys WHERE workspace = $1"
        " ORDER BY created_at DESC, id DESC",
        workspace,
    )
    return rows


async def revoke(pool: asyncpg.Pool, workspace: str, key_id: UUID, by: str) -> bool:
    """Revoke a key of ``workspace`` (again is a no-op); False when it has no such key."""
    row = await pool.fetchrow(
        "UPDATE gateway.api_keys SET revoked_at = coalesce(revoked_at, now()),"
        " revoked_by = coalesce(revoked_by, $3) WHERE id = $1 AND workspace = $2 RETURNING id",
        key_id,
        workspace,
        by,
    )
    return row is not None


def status(row: Any, now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return "active"
