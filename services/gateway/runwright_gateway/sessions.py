"""Console sessions, kept server-side. The cookie holds 32 random bytes and nothing else; the
table keeps only their SHA-256. A session ends on sign-out, after ``session_idle_s`` without a
request, after ``session_max_s`` in all, when its person changes their password, signs out
everywhere or is removed from a workspace, and when its API key is revoked."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from litestar import Request
from litestar.datastructures import Cookie

COOKIE = "runwright_session"


def digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


async def start(
    pool: asyncpg.Pool,
    *,
    user_id: UUID | None,
    key_id: UUID | None,
    max_s: float,
    source: str,
    user_agent: str,
    admin_mark: bytes | None = None,
    workspace: str | None = None,
) -> str:
    """A new session (acting in ``workspace`` when a request names none, else in the first one
    its credential may use); answers the cookie's value."""
    value = secrets.token_urlsafe(32)
    await pool.execute(
        "INSERT INTO gateway.sessions (digest, id, user_id, key_id, source, user_agent, expires_at,"
        " admin_mark, workspace) VALUES ($1, $2, $3, $4, $5, $6, now() + $7, $8, $9)",
        digest(value),
        uuid4(),
        user_id,
        key_id,
        source[:200],
        user_agent[:300],
        timedelta(seconds=max_s),
        admin_mark,
        workspace,
    )
    return value


RESUME = """
WITH seen AS (
    -- last_seen_at is written at most once every 30 s: a busy console costs no write per call.
    UPDATE gateway.sessions SET last_seen_at = now()
     WHERE digest = $1 AND ended_at IS NULL AND expires_at > now()
       AND last_seen_at > now() - $2::interval AND last_seen_at < now() - interval '30 seconds'
)
SELECT id, user_id, key_id, admin_mark, workspace, ended_at IS NULL AND expires_at > now()
       AND last_seen_at > now() - $2::interval AS live
  FROM gateway.sessions WHERE digest = $1
"""


async def resume(pool: asyncpg.Pool, value: str, idle_s: float) -> asyncpg.Record | None:
    """The live session the cookie names, or None (unknown, ended, idle too long or too old)."""
    row: asyncpg.Record | None = await pool.fetchrow(
        RESUME, digest(value), timedelta(seconds=idle_s)
    )
    return row if row is not None and row["live"] else None


async def choose_workspace(pool: asyncpg.Pool, value: str, workspace: str) -> None:
    """Remember the workspace this session acts in when a request names none."""
    await pool.execute(
        "UPDATE gateway.sessions SET workspace = $2 WHERE digest = $1 AND ended_at IS NULL",
        digest(value),
        workspace,
    )


async def end(pool: asyncpg.Pool, value: str, why: str = "signed out") -> None:
    await pool.execute(
        "UPDATE gateway.sessions SET ended_at = now(), ended_why = $2"
        " WHERE digest = $1 AND ended_at IS NULL",
        digest(value),
        why,
    )


async def end_all(
    conn: asyncpg.Pool | asyncpg.Connection, user_id: UUID, why: str, keep: str | None = None
) -> int:
    """End every live session of a person (but ``keep``, the caller's own); answers how many."""
    ended: str = await conn.execute(
        "UPDATE gateway.sessions SET ended_at = now(), ended_why = $2"
        " WHERE user_id = $1 AND ended_at IS NULL AND ($3::bytea IS NULL OR digest <> $3)",
        user_id,
        why,
        None if keep is None else digest(keep),
    )
    return int(ended.rsplit(" ", 1)[-1])


async def live_count(pool: asyncpg.Pool, user_id: UUID) -> int:
    found: int = await pool.fetchval(
        "SELECT count(*) FROM gateway.sessions"
        " WHERE user_id = $1 AND ended_at IS NULL AND expires_at > now()",
        user_id,
    )
    return found


async def begin(
    request: Request[Any, Any, Any],
    *,
    user_id: UUID | None = None,
    key_id: UUID | None = None,
    admin_mark: bytes | None = None,
    workspace: str | None = None,
) -> Cookie:
    """Start a session for this browser (password, key, admin token, invitation or SSO sign-in)
    and answer its cookie: HttpOnly, SameSite=Strict, for the session's whole life."""
    settings = request.app.state.settings
    value = await start(
        request.app.state.pool,
        user_id=user_id,
        key_id=key_id,
        admin_mark=admin_mark,
        workspace=workspace,
        max_s=settings.session_max_s,
        source=request.client.host if request.client is not None else "",
        user_agent=request.headers.get("user-agent", ""),
    )
    return Cookie(
        key=COOKIE,
        value=value,
        path="/",
        max_age=int(settings.session_max_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
