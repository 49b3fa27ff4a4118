"""Submission rate limits, per workspace and per caller (a key, a person or the admin token),
counted in PostgreSQL (``gateway.submission_counts``) in one-minute windows so they hold across
every gateway replica. Past a limit ``POST /api/v1/jobs`` answers 429 with ``Retry-After`` until
the window ends. A batch counts its rows."""

from __future__ import annotations

import math
import secrets

import asyncpg

from runwright_gateway.auth import Principal
from runwright_gateway.problems import Problem
from runwright_gateway.settings import GatewaySettings

COUNT = """
INSERT INTO gateway.submission_counts AS c (scope, window_start, n)
SELECT scope, date_trunc('minute', now()), $2 FROM unnest($1::text[]) AS scope
ON CONFLICT (scope, window_start) DO UPDATE SET n = c.n + EXCLUDED.n
RETURNING scope, n, extract(epoch FROM window_start + interval '1 minute' - now()) AS left_s
"""


def caller(who: Principal) -> str:
    if who.key_id is not None:
        return f"key:{who.key_id}"
    if who.user_id is not None:
        return f"user:{who.user_id}"
    return "admin"


async def admit(pool: asyncpg.Pool, settings: GatewaySettings, who: Principal, jobs: int) -> None:
    """Count ``jobs`` submissions against the caller's workspace and the caller; refuse (429)
    when either is past its limit within this minute."""
    scopes = [f"workspace:{who.workspace}", f"{caller(who)}@{who.workspace}"]
    rows = await pool.fetch(COUNT, scopes, jobs)
    if secrets.randbelow(200) == 0:
        await prune(pool)
    limits = {scopes[0]: settings.submit_rate_workspace, scopes[1]: settings.submit_rate_caller}
    for row in rows:
        limit = limits[row["scope"]]
        if row["n"] > limit:
            wait = max(1, math.ceil(float(row["left_s"])))
            what = "the workspace" if row["scope"] == scopes[0] else "this credential"
            raise Problem(
                429,
                "Too many submissions",
                f"{what} may submit {limit} jobs a minute; try again in {wait} s",
                code="rate_limited",
                headers={"Retry-After": str(wait)},
                retry_after_s=wait,
            )


async def prune(pool: asyncpg.Pool) -> None:
    await pool.execute(
        "DELETE FROM gateway.submission_counts WHERE window_start < now() - interval '10 minutes'"
    )
