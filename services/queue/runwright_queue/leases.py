"""Renewing many leases at once: one request per executor and period, one statement per request.

Each running job's lease must be renewed every ``RUNWRIGHT_LEASE_RENEW_MS`` (1.5 s); renewed one
job at a time that is a NATS request, a handler and an ``UPDATE`` per job and period, which at a
few thousand running jobs is most of what the queue does. An executor instead names all its
running jobs (up to ``RENEW_BATCH`` a request) and the queue extends them in one statement. The
fencing is the per-job renewal's: a lease is extended only for the attempt named, held by that
executor, in an active status; every job named and not extended is reported lost, with why.
"""

from __future__ import annotations

import asyncpg
from runwright_common import metrics
from runwright_common.errors import PermanentError
from runwright_proto.commands import RENEW_BATCH, LostLease, RenewLeases, RenewLeasesReply
from runwright_proto.jobs import ACTIVE

RENEW_MANY = """
WITH asked AS (
    SELECT * FROM unnest($1::text[]::uuid[], $2::int[]) AS a(id, attempt)
), held AS (
    SELECT j.id FROM queue.jobs j JOIN asked a ON j.id = a.id AND j.attempt = a.attempt
    WHERE j.executor_id = $3 AND j.status = ANY($5)
    ORDER BY j.id FOR UPDATE OF j
), renewed AS (
    UPDATE queue.jobs j SET lease_expires_at = now() + make_interval(secs => $4 / 1000.0)
    FROM held h WHERE j.id = h.id
    RETURNING j.id
)
SELECT a.id, a.attempt AS asked, j.attempt, j.status, j.executor_id
FROM asked a LEFT JOIN queue.jobs j ON j.id = a.id
WHERE NOT EXISTS (SELECT 1 FROM renewed r WHERE r.id = a.id)
"""
"""Lock the leases still held, in id order (as the reaper's grace does: two statements that
lock many jobs in different orders deadlock), extend them, and say of every other job named
what it is now (the join reads the rows as they were before this statement, which for a job
not renewed is as it is)."""


def why_lost(row: asyncpg.Record, executor_id: str) -> str:
    if row["status"] is None:
        return "lease lost: no such job"
    if row["attempt"] != row["asked"] or row["executor_id"] != executor_id:
        return f"lease lost: attempt {row['attempt']} holds the job now"
    return f"lease lost: the job is {row['status']}"


async def renew_many(pool: asyncpg.Pool, cmd: RenewLeases) -> RenewLeasesReply:
    """Extend the lease of every job named whose attempt this executor still holds; name the
    others lost."""
    if len(cmd.jobs) > RENEW_BATCH:
        raise PermanentError(f"at most {RENEW_BATCH} jobs a renewal, not {len(cmd.jobs)}")
    if not cmd.jobs:
        return RenewLeasesReply()
    try:  # the ids go as text: PostgreSQL reads 500 UUIDs far faster than Python does
        rows = await pool.fetch(
            RENEW_MANY,
            [job.job_id for job in cmd.jobs],
            [job.attempt for job in cmd.jobs],
            cmd.executor_id,
            float(cmd.lease_ms),
            list(ACTIVE),
        )
    except asyncpg.DataError as exc:
        raise PermanentError(f"not a job id: {exc}") from exc
    metrics.leases_renewed("batch", len(cmd.jobs) - len(rows))
    return RenewLeasesReply(
        lost=[LostLease(job_id=str(r["id"]), reason=why_lost(r, cmd.executor_id)) for r in rows]
    )
