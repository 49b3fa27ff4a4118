"""Stored artifacts become ``artifact`` events on the job's stream; the last one a finished run
waits for lets the job finish."""

from __future__ import annotations

from uuid import UUID

import asyncpg
import msgspec
from nats.aio.msg import Msg
from runwright_proto.artifacts import ArtifactStored
from runwright_proto.jobs import ACTIVE, TERMINAL
from runwright_proto.reports import JobFinished

from runwright_queue.journal import artifact_event, finish

FINISH_WAIT_S = 60


async def missing_artifacts(
    conn: asyncpg.Connection, job_id: UUID, expected: list[str]
) -> list[str]:
    if not expected:
        return []
    stored = {
        str(r["artifact_id"])
        for r in await conn.fetch(
            "SELECT artifact_id FROM queue.job_artifacts WHERE job_id = $1 AND "
            "artifact_id = ANY($2::uuid[])",
            job_id,
            expected,
        )
    }
    return [a for a in expected if a not in stored]


async def finish_from(
    conn: asyncpg.Connection, job_id: UUID, done: JobFinished, reason: str | None = None
) -> None:
    await finish(
        conn,
        job_id,
        done.status,
        ACTIVE,
        reason=reason or done.reason,
        memory_collections=done.memory_collections,
        files=done.files,
    )


async def hold_finish(conn: asyncpg.Connection, job_id: UUID, done: JobFinished) -> None:
    """Wait for the run's artifacts; the lease now expires at the deadline (see the reaper)."""
    await conn.execute(
        "INSERT INTO queue.pending_finishes (job_id, finish, deadline) "
        "VALUES ($1, $2, now() + make_interval(secs => $3)) ON CONFLICT (job_id) DO NOTHING",
        job_id,
        msgspec.to_builtins(done),
        float(FINISH_WAIT_S),
    )
    await conn.execute(
        "UPDATE queue.jobs SET lease_expires_at = now() + make_interval(secs => $2) WHERE id = $1",
        job_id,
        float(FINISH_WAIT_S),
    )


async def pending_finish(conn: asyncpg.Connection, job_id: UUID) -> JobFinished | None:
    raw = await conn.fetchval(
        "DELETE FROM queue.pending_finishes WHERE job_id = $1 RETURNING finish", job_id
    )
    return msgspec.convert(raw, JobFinished) if raw else None


async def record_artifact(
    pool: asyncpg.Pool, stored: ArtifactStored, _msg: Msg | None = None
) -> bool:
    job_id = UUID(stored.job_id)
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.fetchval(
            "SELECT status FROM queue.jobs WHERE id = $1 FOR UPDATE", job_id
        )
        if status is None:
            return False
        inserted = await conn.fetchval(
            "INSERT INTO queue.job_artifacts (artifact_id, job_id, kind, name, size, "
            "content_type, sha256, ordinal) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "ON CONFLICT (artifact_id) DO NOTHING RETURNING true",
            UUID(stored.artifact_id),
            job_id,
            stored.kind,
            stored.name,
            stored.size,
            stored.content_type,
            stored.sha256,
            stored.ordinal,
        )
        if not inserted:
            return False
        if status not in TERMINAL:
            await artifact_event(conn, job_id, stored)
        waiting = await conn.fetchval(
            "SELECT finish FROM queue.pending_finishes WHERE job_id = $1", job_id
        )
        if waiting:
            done = msgspec.convert(waiting, JobFinished)
            if not await missing_artifacts(conn, job_id, done.artifact_ids):
                await pending_finish(conn, job_id)
                await finish_from(conn, job_id, done)
    return True
