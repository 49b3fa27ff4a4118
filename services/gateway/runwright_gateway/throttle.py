"""Slowing guesses: failed sign-ins and bad bearer tokens are counted per account and per source
address in PostgreSQL (``gateway.signin_failures``), so the limits hold across every gateway
replica. Past a limit the caller gets 429 with ``Retry-After`` until the oldest failure in the
window ages out: a lock-out that expires by itself."""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from runwright_gateway.problems import Problem


@dataclass(frozen=True, slots=True)
class Limits:
    per_account: int
    per_source: int
    window_s: float


COUNT = """
SELECT count(*) FILTER (WHERE $1::text IS NOT NULL AND lower(account) = lower($1)) AS account_n,
       min(at) FILTER (WHERE $1::text IS NOT NULL AND lower(account) = lower($1)) AS account_first,
       count(*) FILTER (WHERE source = $2) AS source_n,
       min(at) FILTER (WHERE source = $2) AS source_first,
       now() AS now
  FROM gateway.signin_failures
 WHERE at > now() - $3::interval AND (source = $2 OR lower(account) = lower($1))
"""


async def check(pool: asyncpg.Pool, limits: Limits, account: str | None, source: str) -> None:
    """Refuse (429) when the account or the source is past its limit."""
    window = timedelta(seconds=limits.window_s)
    row = await pool.fetchrow(COUNT, account, source, window)
    assert row is not None
    for n, first, limit, what in (
        (row["account_n"], row["account_first"], limits.per_account, "this account"),
        (row["source_n"], row["source_first"], limits.per_source, "this address"),
    ):
        if n >= limit and first is not None:
            wait = max(1, math.ceil((first + window - row["now"]).total_seconds()))
            raise Problem(
                429,
                "Too many attempts",
                f"too many failed sign-ins for {what}; try again in {wait} s",
                code="too_many_attempts",
                headers={"Retry-After": str(wait)},
                retry_after_s=wait,
            )


async def failed(pool: asyncpg.Pool, limits: Limits, account: str | None, source: str) -> None:
    """Count one failure; now and then drop the rows the window has passed."""
    await pool.execute(
        "INSERT INTO gateway.signin_failures (account, source) VALUES ($1, $2)",
        None if account is None else account[:254],
        source[:200],
    )
    if secrets.randbelow(50) == 0:
        await pool.execute(
            "DELETE FROM gateway.signin_failures WHERE at < now() - $1::interval",
            timedelta(seconds=limits.window_s),
        )
