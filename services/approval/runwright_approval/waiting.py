"""Approvals open now, per workspace, for ``runwright_approvals_waiting`` (read at scrape time,
from the partial index of open requests)."""

from __future__ import annotations

import asyncpg
from runwright_common import metrics

OPEN = "SELECT workspace, count(*) AS n FROM approval.requests WHERE state = 'open' GROUP BY 1"


async def refresh(pool: asyncpg.Pool) -> None:
    rows = await pool.fetch(OPEN)
    metrics.set_by_label(metrics.APPROVALS_WAITING, {(r["workspace"],): r["n"] for r in rows})
