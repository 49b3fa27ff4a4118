"""Pruning the gateway's tables by age (``runwright_db.retention``): the audit log after
``RUNWRIGHT_RETAIN_AUDIT_DAYS`` (400; only through ``gateway.prune_audit``, which refuses rows
younger than 30 days), and sessions that ended or expired ``RUNWRIGHT_RETAIN_SESSIONS_DAYS`` (30)
ago. Sign-in failures, submission counters and OIDC logins already expire on their own."""

from __future__ import annotations

from datetime import datetime

import asyncpg
from runwright_db.retention import Retention, by_age, delete_in_batches

OVER = "least(expires_at, ended_at)"


async def prune(pool: asyncpg.Pool, retention: Retention, now: datetime) -> dict[str, int]:
    removed: dict[str, int] = {}
    if audit := retention.cutoff(retention.retain_audit_days, now):
        removed["audit"] = await delete_in_batches(
            pool, "SELECT gateway.prune_audit($1, $2)", audit
        )
    if sessions := retention.cutoff(retention.retain_sessions_days, now):
        removed["sessions"] = await delete_in_batches(
            pool, by_age("gateway.sessions", OVER), sessions
        )
    return removed
