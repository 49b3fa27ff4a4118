"""Moving a staged file from the NATS object store into the artifact store, and recording it.

Idempotent on the artifact id: a redelivered ``ArtifactStaged`` finds the row and only cleans up.
The staged object is deleted only after the row is committed, so a crash loses nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import asyncpg
import msgspec
from nats.aio.msg import Msg
from nats.js.object_store import ObjectStore
from runwright_common.errors import PermanentError, RetryableError
from runwright_common.logging import get_logger
from runwright_db.outbox import enqueue
from runwright_proto import subjects
from runwright_proto.artifacts import ArtifactStaged, ArtifactStored
from runwright_storage import SNIFF_BYTES, ArtifactStore, TooLarge, sniff_content_type

from runwright_artifact.settings import ArtifactSettings

log = get_logger("runwright.artifact.intake")
CHUNK = 1 << 20
_encode = msgspec.json.Encoder().encode


def _head(path: Path) -> bytes:
    with path.open("rb") as handle:
        return handle.read(SNIFF_BYTES)


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK):
            yield chunk
    finally:
        handle.close()


def storage_key(staged: ArtifactStaged) -> str:
    return f"jobs/{staged.job_id}/{staged.artifact_id}"


class Intake:
    def __init__(
        self,
        pool: asyncpg.Pool,
        store: ArtifactStore,
        staging: ObjectStore,
        settings: ArtifactSettings,
        on_commit: object,
    ) -> None:
        self.pool, self.store, self.staging, self.settings = pool, store, staging, settings
        self.on_commit = on_commit

    async def handle(self, staged: ArtifactStaged, _msg: Msg | None = None) -> None:
        artifact_id = UUID(staged.artifact_id)
        exists = await self.pool.fetchval(
            "SELECT true FROM artifact.artifacts WHERE id = $1", artifact_id
        )
        if not exists:
            await self._store(staged)
        try:
            await self.staging.delete(staged.object_name)
        except Exception as exc:  # harmless: the staging bucket's TTL removes it later
            log.warning("staged object not deleted", object_name=staged.object_name, error=str(exc))

    async def _store(self, staged: ArtifactStaged) -> None:
        limit = self.settings.max_download_mb * (1 << 20) if staged.kind == "download" else None
        with tempfile.NamedTemporaryFile(prefix="runwright-intake-") as spool:
            try:
                await self.staging.get(staged.object_name, writeinto=spool)  # type: ignore[arg-type]
            except Exception as exc:
                if "not found" in str(exc).lower():
                    raise PermanentError(f"staged object {staged.object_name} is gone") from exc
                raise RetryableError(f"reading staged object failed: {exc}", 2.0) from exc
            spool.flush()
            path = Path(spool.name)
            head = await asyncio.to_thread(_head, path)
            content_type = sniff_content_type(head, staged.name)
            key = storage_key(staged)
            try:
                stored = await self.store.put(
                    key, _chunks(path), content_type=content_type, max_bytes=limit
                )
            except TooLarge as exc:
                log.warning(
                    "artifact over the size cap; not stored",
                    job_id=staged.job_id,
                    name=staged.name,
                    limit_mb=self.settings.max_download_mb,
                )
                raise PermanentError(f"{staged.name} exceeds the download cap") from exc
        await self._record(staged, key, stored.size, stored.sha256, content_type)

    async def _record(
        self, staged: ArtifactStaged, key: str, size: int, sha256: str, content_type: str
    ) -> None:
        now = datetime.now(UTC)
        expires = now + timedelta(days=self.settings.retention_days(staged.kind))
        event = ArtifactStored(
            artifact_id=staged.artifact_id,
            job_id=staged.job_id,
            kind=staged.kind,
            name=staged.name,
            size=size,
            sha256=sha256,
            content_type=content_type,
            ordinal=staged.ordinal,
            at=now,
        )
        async with self.pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                """
                INSERT INTO artifact.artifacts (id, job_id, ordinal, kind, name, original_name,
                    size, content_type, sha256, storage_key, created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (id) DO NOTHING RETURNING true
                """,
                UUID(staged.artifact_id),
                UUID(staged.job_id),
                staged.ordinal,
                staged.kind,
                staged.name,
                staged.original_name,
                size,
                content_type,
                sha256,
                key,
                now,
                expires,
            )
            if inserted:
                await enqueue(
                    conn, "artifact.outbox", subjects.artifact_stored(staged.job_id), _encode(event)
                )
        if callable(self.on_commit):
            self.on_commit()
