"""Job counts per status: fold the delta rows the ``queue.jobs`` triggers append into totals.

Folding is one statement (delete the deltas, add them to the totals), so a reader summing totals
and deltas in one snapshot sees every job exactly once, before or after a fold. One folder at a
time (an advisory lock): replicas of the queue service never fight over the same delta rows.
"""

from __future__ import annotations

import hashlib

import asyncpg

FOLD = """
WITH folded AS (
    DELETE FROM queue.job_count_deltas RETURNING workspace, status, delta
), summed AS (
    SELECT workspace, status, sum(delta)::bigint AS n FROM folded GROUP BY workspace, status
)
INSERT INTO queue.job_counts AS c (workspace, status, n) SELECT workspace, status, n FROM summed
ON CONFLICT (workspace, status) DO UPDATE SET n = c.n + excluded.n
"""

FOLD_LOCK = int.from_bytes(hashlib.sha256(b"queue:fold-counts").digest()[:8], "big", signed=True)


async def fold_counts(db: asyncpg.Pool | asyncpg.Connection) -> int | None:
    """Fold every delta row into ``queue.job_counts`` in one statement (a million take a couple
    of seconds; readers and writers are not blocked meanwhile). Returns how many
    (workspace, status) totals changed (0: nothing to fold), or None when another folder holds
    the lock."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await fold_counts(conn)
    async with db.transaction():
        if not await db.fetchval("SELECT pg_try_advisory_xact_lock($1)", FOLD_LOCK):
            return None
        status: str = await db.execute(FOLD)
    return int(status.rsplit(" ", 1)[-1])
