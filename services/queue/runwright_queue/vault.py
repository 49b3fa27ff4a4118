"""The ``queue.job_secrets`` rows: sealed on the way in, opened for the claim and for redaction.

Rows written before secrets were sealed (plain ``secrets`` jsonb) are sealed with the active key
when the queue starts (``seal_legacy_rows``), so a job that waits across the upgrade still runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

import asyncpg

from runwright_queue.sealing import Keyring, Sealed, SecretsUnreadable


async def store(
    conn: asyncpg.Connection, job_id: UUID, secrets: Mapping[str, str], keys: Keyring
) -> None:
    sealed = keys.seal(job_id, secrets)
    await conn.execute(
        "INSERT INTO queue.job_secrets (job_id, key_id, nonce, ciphertext) VALUES ($1, $2, $3, $4)",
        job_id,
        sealed.key_id,
        sealed.nonce,
        sealed.ciphertext,
    )


async def load(conn: asyncpg.Connection, job_id: UUID, keys: Keyring) -> dict[str, str]:
    """The job's secrets ({} when it has none); ``SecretsUnreadable`` when they do not open."""
    row = await conn.fetchrow(
        "SELECT key_id, nonce, ciphertext FROM queue.job_secrets WHERE job_id = $1", job_id
    )
    if row is None:
        return {}
    if row["key_id"] is None:
        raise SecretsUnreadable("run secrets were stored before sealing and not sealed since")
    sealed = Sealed(key_id=row["key_id"], nonce=row["nonce"], ciphertext=row["ciphertext"])
    return keys.open(job_id, sealed)


async def seal_legacy_rows(pool: asyncpg.Pool, keys: Keyring) -> int:
    """Seal every row still holding plain secrets; returns how many were sealed."""
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT job_id, secrets FROM queue.job_secrets WHERE key_id IS NULL FOR UPDATE"
        )
        for row in rows:
            sealed = keys.seal(row["job_id"], row["secrets"])
            await conn.execute(
                "UPDATE queue.job_secrets SET secrets = NULL, key_id = $2, nonce = $3, "
                "ciphertext = $4 WHERE job_id = $1",
                row["job_id"],
                sealed.key_id,
                sealed.nonce,
                sealed.ciphertext,
            )
    return len(rows)
