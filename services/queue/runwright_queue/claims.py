"""Ownership of a running job: claims bump the attempt and take a lease; renewals extend it.

The broker may deliver a dispatch twice or late; Postgres decides who runs the job.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import asyncpg
import msgspec
from runwright_common.logging import get_logger
from runwright_proto.commands import (
    CONCURRENCY_LIMIT,
    NOTHING_QUEUED,
    ClaimJob,
    ClaimReply,
    JobOptions,
    RenewLease,
    RenewReply,
)
from runwright_proto.jobs import ACTIVE
from runwright_runbook.model import Runbook

from runwright_queue import vault
from runwright_queue.journal import TransitionRejected, finish, now, transition
from runwright_queue.sealing import Keyring, SecretsUnreadable

log = get_logger("runwright.queue.claims")

BEST = """
SELECT j.id, j.workspace FROM queue.jobs j
WHERE j.status = 'queued'
  AND (SELECT count(*) FROM queue.jobs a WHERE a.workspace = j.workspace
       AND a.status = ANY($1)) < $2
ORDER BY j.priority DESC, j.created_at, j.id
LIMIT 1 FOR UPDATE SKIP LOCKED
"""


async def claim(
    pool: asyncpg.Pool,
    cmd: ClaimJob,
    workspace_concurrency: int = 50,
    *,
    keys: Keyring,
) -> ClaimReply:
    """Claim the best eligible job: highest priority, oldest first, in a workspace below its
    concurrency limit. A dispatch message only wakes the executor; Postgres picks the job.

    A job whose sealed secrets do not open (its key is gone) fails with that reason, and the
    next best job is tried; each pass ends one job, so this ends."""
    while True:
        async with pool.acquire() as conn, conn.transaction():
            reply = await _claim_best(conn, cmd, workspace_concurrency, keys)
        if reply is not None:
            return reply


async def _claim_best(
    conn: asyncpg.Connection, cmd: ClaimJob, workspace_concurrency: int, keys: Keyring
) -> ClaimReply | None:
    """The claim of the best job, a refusal, or None when that job failed for its secrets."""
    best = await conn.fetchrow(BEST, list(ACTIVE), workspace_concurrency)
    if best is None:
        # Queued jobs nobody else is claiming right now: if any, their workspace is full.
        waiting = await conn.fetchval(
            "SELECT count(*) FROM (SELECT 1 FROM queue.jobs WHERE status = 'queued' "
            "FOR UPDATE SKIP LOCKED) AS unclaimed"
        )
        reason = CONCURRENCY_LIMIT if waiting else NOTHING_QUEUED
        return ClaimReply(granted=False, job_id=cmd.job_id, reason=reason)
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", best["workspace"])
    active = await conn.fetchval(
        "SELECT count(*) FROM queue.jobs WHERE workspace = $1 AND status = ANY($2)",
        best["workspace"],
        list(ACTIVE),
    )
    if active >= workspace_concurrency:
        return ClaimReply(granted=False, job_id=cmd.job_id, reason=CONCURRENCY_LIMIT)
    try:
        secrets = await vault.load(conn, best["id"], keys)
    except SecretsUnreadable as exc:
        log.warning("job failed: its run secrets do not open", job_id=str(best["id"]))
        reason = f"run secrets cannot be read: {exc}"
        await finish(conn, best["id"], "failed", ("queued",), reason=reason, actor="queue")
        return None
    return await _take(conn, cmd, best["id"], secrets)


async def _take(
    conn: asyncpg.Connection, cmd: ClaimJob, job_id: UUID, secrets: dict[str, str]
) -> ClaimReply:
    try:
        row = await transition(
            conn,
            job_id,
            "running",
            ("queued",),
            actor=f"executor:{cmd.executor_id}",
            sets={
                "attempt": await _next_attempt(conn, job_id),
                "executor_id": cmd.executor_id,
                "lease_expires_at": now() + timedelta(milliseconds=cmd.lease_ms),
                "started_at": now(),
                "report_seq": 0,
            },
        )
    except TransitionRejected as exc:
        return ClaimReply(granted=False, job_id=cmd.job_id, reason=str(exc))
    await conn.execute(
        "UPDATE queue.job_steps SET attempt = $2 WHERE job_id = $1", job_id, row["attempt"]
    )
    return ClaimReply(
        granted=True,
        job_id=str(job_id),
        attempt=row["attempt"],
        runbook=msgspec.convert(row["runbook"], Runbook),
        variables=row["variables"],
        secrets=secrets,
        data=row["data"],
        options=msgspec.convert(row["options"], JobOptions),
    )


async def _next_attempt(conn: asyncpg.Connection, job_id: UUID) -> int:
    attempt: int | None = await conn.fetchval(
        "SELECT attempt + 1 FROM queue.jobs WHERE id = $1", job_id
    )
    return attempt or 1


async def renew(pool: asyncpg.Pool, cmd: RenewLease) -> RenewReply:
    """Extend the lease only for the attempt that holds it; anything else must stop running."""
    async with pool.acquire() as conn:
        status = await conn.fetchval(
            "UPDATE queue.jobs SET lease_expires_at = now() + make_interval(secs => $4 / 1000.0) "
            "WHERE id = $1 AND attempt = $2 AND executor_id = $3 AND status = ANY($5) "
            "RETURNING status",
            UUID(cmd.job_id),
            cmd.attempt,
            cmd.executor_id,
            float(cmd.lease_ms),
            list(ACTIVE),
        )
    if status is None:
        return RenewReply(ok=False, reason="lease lost: the job is no longer yours")
    return RenewReply(ok=True)
