"""Ownership of a running job: claims bump the attempt and take a lease; renewals extend it.

The broker may deliver a dispatch twice or late; Postgres decides who runs the job. A claim asked
again under the same ``claim_id`` (its reply was lost) gets the same grant back.
"""

from __future__ import annotations

import contextlib
from uuid import UUID

import asyncpg
import msgspec
from runwright_common import metrics
from runwright_common.errors import PermanentError
from runwright_common.logging import get_logger
from runwright_proto import subjects
from runwright_proto.commands import (
    CONCURRENCY_LIMIT,
    NOTHING_QUEUED,
    ClaimJob,
    ClaimReply,
    JobOptions,
    RenewLease,
    RenewReply,
)
from runwright_proto.events import StatusEvent
from runwright_proto.jobs import ACTIVE
from runwright_runbook.model import Runbook

from runwright_queue import vault
from runwright_queue.journal import TransitionRejected, finish, now
from runwright_queue.sealing import Keyring, Sealed, SecretsUnreadable

log = get_logger("runwright.queue.claims")
_encode = msgspec.json.Encoder().encode

CLAIM = (
    "SELECT c.*, j.workspace, j.trace, extract(epoch FROM now() - "
    "greatest(j.created_at, coalesce(j.run_at, j.created_at))) AS waited "
    "FROM queue.claim_next($1, $2, $3, $4, $5, $6, $7, $8) c "
    "LEFT JOIN queue.jobs j ON j.id = c.job_id"
)
"""One call, one round trip (``migrations/020_idempotent_claim.sql``); the job's workspace
and trace context (which the claim does not change) come with it, and how long it waited (from
its submission or its run time to the claim's transaction, for the queue-wait histogram)."""
NO_JOB_ID = UUID(int=0)
ANY_WORKSPACE = "$"
"""The claim's event template names no workspace; ``claim_next`` puts in the claimed job's."""
SUBJECT_PREFIX = subjects.EVENTS.removesuffix(">")
"""``claim_next`` adds ``<workspace>.<job_id>``."""


async def claim(
    pool: asyncpg.Pool,
    cmd: ClaimJob,
    workspace_concurrency: int = 50,
    *,
    keys: Keyring,
) -> ClaimReply:
    """Claim the best eligible job: highest priority, oldest first, in a workspace below its
    concurrency limit. A dispatch message only wakes the executor; Postgres picks the job.

    A ``claim_id`` already granted to this executor, for a job it still holds, gets that grant
    again (the executor asks again when the answer was lost): no transition, event or metric.

    A job whose sealed secrets do not open (its key is gone) fails with that reason, and the
    next best job is tried; each pass ends one job, so this ends."""
    actor = f"executor:{cmd.executor_id}"
    claim_id = _claim_id(cmd)
    event = StatusEvent(
        job_id=str(NO_JOB_ID),
        workspace=ANY_WORKSPACE,
        seq=0,
        at=now(),
        status="running",
        previous="queued",
        actor=actor,
    )
    while True:
        async with pool.acquire() as conn:
            row = await conn.fetchrow(
                CLAIM,
                list(ACTIVE),
                workspace_concurrency,
                cmd.executor_id,
                float(cmd.lease_ms),
                _encode(event).decode(),
                SUBJECT_PREFIX,
                list(keys.key_ids),
                claim_id,
            )
            assert row is not None
            match row["outcome"]:
                case "empty" | "full":
                    reason = CONCURRENCY_LIMIT if row["outcome"] == "full" else NOTHING_QUEUED
                    return ClaimReply(granted=False, job_id=cmd.job_id, reason=reason)
                case "unreadable":
                    await _fail_unreadable(conn, row, keys, ("queued",))
                    continue
            try:
                secrets = _secrets(row, keys)
            except SecretsUnreadable:
                await _fail_unreadable(conn, row, keys, ("running",))
                continue
            if row["outcome"] == "again":
                log.info(
                    "claim asked again: the same grant",
                    job_id=str(row["job_id"]),
                    attempt=row["attempt"],
                    claim_id=cmd.claim_id,
                )
            elif row["attempt"] == 1:
                metrics.job_started(row["workspace"], float(row["waited"] or 0))
        return ClaimReply(
            granted=True,
            job_id=str(row["job_id"]),
            attempt=row["attempt"],
            runbook=msgspec.convert(row["runbook"], Runbook),
            variables=row["variables"],
            secrets=secrets,
            data=row["data"],
            options=msgspec.convert(row["options"], JobOptions),
            workspace=row["workspace"] or "",
            trace=row["trace"] or {},
        )


def _claim_id(cmd: ClaimJob) -> UUID | None:
    """The claim's id; none from an executor of an earlier release (each of its claims is new)."""
    if not cmd.claim_id:
        return None
    try:
        return UUID(cmd.claim_id)
    except ValueError:
        raise PermanentError(f"claim_id {cmd.claim_id!r} is not a UUID") from None


def _secrets(row: asyncpg.Record, keys: Keyring) -> dict[str, str]:
    if row["key_id"] is None:
        return {}
    sealed = Sealed(key_id=row["key_id"], nonce=row["nonce"], ciphertext=row["ciphertext"])
    return keys.open(row["job_id"], sealed)


async def _fail_unreadable(
    conn: asyncpg.Connection, row: asyncpg.Record, keys: Keyring, allowed_from: tuple[str, ...]
) -> None:
    """The job fails, saying why its secrets do not open."""
    job_id = row["job_id"]
    async with conn.transaction():
        try:
            await vault.load(conn, job_id, keys)
            reason = "run secrets cannot be read"
        except SecretsUnreadable as exc:
            reason = f"run secrets cannot be read: {exc}"
        log.warning("job failed: its run secrets do not open", job_id=str(job_id))
        with contextlib.suppress(TransitionRejected):
            await finish(conn, job_id, "failed", allowed_from, reason=reason, actor="queue")


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
    metrics.leases_renewed("per_job", 0 if status is None else 1)
    if status is None:
        return RenewReply(ok=False, reason="lease lost: the job is no longer yours")
    return RenewReply(ok=True)
