"""Job counts per status: fold the delta rows the ``queue.jobs`` triggers append into totals.

Folding is one statement (delete the deltas, add them to the totals), so a reader summing totals
and deltas in one snapshot sees every job exactly once, before or after a fold.
"""

from __future__ import annotations

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


async def fold_counts(
    pool: asyncpg.Pool | asyncpg.Connection, batch: int = 20_000, rounds: int = 10
) -> int:
    """Fold delta rows into ``queue.job_counts``, ``batch`` at a time, until fewer than a batch
    remain or after ``rounds`` batches (so one pass stays short after a burst). Returns how many
    were folded."""
    folded = 0
    for _ in range(rounds):
        status = await pool.execute(FOLD, batch)
        moved = int(status.rsplit(" ", 1)[-1])
        folded += moved
        if moved < batch:
            break
    return folded
