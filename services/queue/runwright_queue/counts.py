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
    DELETE FROM queue.job_count_deltas
     WHERE id IN (SELECT id FROM queue.job_count_deltas ORDER BY id LIMIT $1)
    RETURNING status, delta
), summed AS (
    SELECT status, sum(delta)::bigint AS n FROM folded GROUP BY status
)
INSERT INTO queue.job_counts AS c (status, n) SELECT status, n FROM summed
ON CONFLICT (status) DO UPDATE SET n = c.n + excluded.n
"""

FOLD_LOCK = int.from_bytes(hashlib.sha256(b"queue:fold-counts").digest()[:8], "big", signed=True)


async def _fold_once(conn: asyncpg.Connection, batch: int) -> int | None:
    """Fold up to ``batch`` deltas; None when another folder is at work."""
    async with conn.transaction():
        if not await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", FOLD_LOCK):
            return None
        status: str = await conn.execute(FOLD, batch)
    return int(status.rsplit(" ", 1)[-1])


async def fold_counts(
    db: asyncpg.Pool | asyncpg.Connection, batch: int = 20_000, rounds: int = 10
) -> int:
    """Fold delta rows into ``queue.job_counts``, ``batch`` at a time, until fewer than a batch
    remain, after ``rounds`` batches (so one pass stays short after a burst), or at once when
    another folder holds the lock. Returns how many were folded."""
    if isinstance(db, asyncpg.Pool):
        async with db.acquire() as conn:
            return await fold_counts(conn, batch, rounds)
    folded = 0
    for _ in range(rounds):
        moved = await _fold_once(db, batch)
        if moved is None:
            break
        folded += moved
        if moved < batch:
            break
    return folded
