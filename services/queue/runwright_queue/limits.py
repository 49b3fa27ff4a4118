"""Per-workspace limits (``queue.workspace_limits``): how many of a workspace's jobs may run at
once and wait at once. A workspace without a row, or a limit left NULL, has the installation's
(``RUNWRIGHT_WORKSPACE_CONCURRENCY``, ``RUNWRIGHT_MAX_QUEUED``). ``claim_next`` reads the
concurrency limit in the claim itself; admission reads the cap (``submission``)."""

from __future__ import annotations

import asyncpg
from runwright_proto.commands import SetWorkspaceLimits, WorkspaceLimitsReply


async def set_limits(pool: asyncpg.Pool, cmd: SetWorkspaceLimits) -> WorkspaceLimitsReply:
    """Idempotent: the same request again writes the same row."""
    row = await pool.fetchrow(
        "INSERT INTO queue.workspace_limits (workspace, concurrency, max_queued, updated_by)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT (workspace) DO UPDATE SET"
        " concurrency = EXCLUDED.concurrency, max_queued = EXCLUDED.max_queued,"
        " updated_by = EXCLUDED.updated_by, updated_at = now() RETURNING *",
        cmd.workspace,
        cmd.concurrency,
        cmd.max_queued,
        cmd.actor,
    )
    assert row is not None
    return WorkspaceLimitsReply(
        workspace=row["workspace"],
        concurrency=row["concurrency"],
        max_queued=row["max_queued"],
        updated_by=row["updated_by"],
        updated_at=row["updated_at"],
    )


async def caps(conn: asyncpg.Connection, workspaces: list[str], default: int) -> dict[str, int]:
    """Each workspace's queue cap."""
    rows = await conn.fetch(
        "SELECT workspace, max_queued FROM queue.workspace_limits"
        " WHERE workspace = ANY($1::text[]) AND max_queued IS NOT NULL",
        workspaces,
    )
    found = {r["workspace"]: r["max_queued"] for r in rows}
    return {w: found.get(w, default) for w in workspaces}
