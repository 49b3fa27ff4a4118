"""Retention: what grows without end is removed by age, by the service that writes it, in small
batches on a periodic task.

Each kind has its own setting (``RUNWRIGHT_RETAIN_<KIND>_DAYS``; 0 keeps for ever). A batch is one
short transaction (``DELETE ... WHERE ctid IN (SELECT ... LIMIT n)``), so pruning never holds
locks long nor competes with the hot path for more than a moment. The clock is a parameter
(``now``), so tests drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
from runwright_common.errors import SettingsError
from runwright_common.logging import get_logger
from runwright_common.settings import env_name, load

log = get_logger("runwright.retention")

BATCH = 5000
"""Rows per delete: small enough to stay a short transaction, large enough to keep up."""


class Retention(msgspec.Struct, frozen=True, kw_only=True):
    """How long each kind of record is kept, in days (0: for ever); read from the environment."""

    retain_jobs_days: float = 30
    """Finished jobs (completed, failed, cancelled), counted from when they finished, with their
    steps, events, reports, approvals, actions and schedule occurrences. Never an active job."""
    retain_events_days: float = 30
    """The event log of finished jobs (kept no longer than the job itself)."""
    retain_deliveries_days: float = 14
    """Webhook deliveries that ended (delivered, gave up) and their attempts."""
    retain_processed_days: float = 7
    """Idempotency records of consumed messages (longer than any redelivery can come late)."""
    retain_sessions_days: float = 30
    """Console and API sessions that ended or expired."""
    retain_audit_days: float = 400
    """The audit log (never less than 30 days: younger rows cannot be removed at all)."""
    retention_interval_s: float = 600
    """How often each service prunes."""

    def __post_init__(self) -> None:
        for field in msgspec.structs.fields(self):
            if getattr(self, field.name) < 0:
                raise SettingsError(f"{env_name(field.name)}: must be 0 or more")
        if 0 < self.retain_audit_days < 30:
            raise SettingsError(f"{env_name('retain_audit_days')}: 0 (for ever) or at least 30")
        if 0 < self.retain_processed_days < 1:
            raise SettingsError(f"{env_name('retain_processed_days')}: 0 (for ever) or at least 1")

    def cutoff(self, days: float, now: datetime) -> datetime | None:
        """Records older than this go; None: keep for ever."""
        return now - timedelta(days=days) if days > 0 else None


def by_age(table: str, column: str, where: str = "true") -> str:
    """A batch delete of ``table``'s rows whose ``column`` is before ``$1`` (and ``where``)."""
    return (
        f"WITH gone AS (DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} "
        f"WHERE {column} < $1 AND ({where}) LIMIT $2) RETURNING 1) SELECT count(*) FROM gone"
    )


async def delete_in_batches(pool: asyncpg.Pool, sql: str, *args: object, batch: int = BATCH) -> int:
    """Run ``sql`` (a delete whose last parameter is the batch size and which selects how many
    rows it removed) until it removes fewer than a batch; returns how many rows went."""
    total = 0
    while True:
        deleted = int(await pool.fetchval(sql, *args, batch))
        total += deleted
        if deleted < batch:
            return total
        await asyncio.sleep(0)


Pruner = Callable[[datetime], Awaitable[dict[str, int]]]


async def run_retention(
    prune: Pruner,
    stop: asyncio.Event,
    interval_s: float,
    clock: Callable[[], datetime],
) -> None:
    """Prune now and every ``interval_s`` until ``stop``; a failed pass is logged and retried at
    the next one."""
    while not stop.is_set():
        try:
            removed = {kind: n for kind, n in (await prune(clock())).items() if n}
            if removed:
                log.info("old records removed", **removed)
        except Exception as exc:
            log.warning("retention pass failed; trying again later", error=repr(exc))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)


Prune = Callable[[asyncpg.Pool, Retention, datetime], Awaitable[dict[str, int]]]


def periodic(pool: asyncpg.Pool, prune: Prune, stop: asyncio.Event) -> Coroutine[Any, Any, None]:
    """A service's retention task: its ``prune(pool, retention, now)`` with the settings read now
    (a bad one stops the service at start) every ``RUNWRIGHT_RETENTION_INTERVAL_S``."""
    retention = load(Retention)
    return run_retention(
        lambda now: prune(pool, retention, now),
        stop,
        retention.retention_interval_s,
        lambda: datetime.now(UTC),
    )
