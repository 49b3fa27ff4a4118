"""Handing files to the artifact service: the bytes go to the staging object store, then an
``ArtifactStaged`` message says where they are. Executors hold no store credentials."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import ObjectStore
from runwright_bus import publish
from runwright_bus.staging import staging_bucket
from runwright_common.logging import get_logger
from runwright_common.tracing import tracer
from runwright_engine.files import FileRecord
from runwright_proto import subjects
from runwright_proto.artifacts import ArtifactStaged

log = get_logger("runwright.executor.stager")


async def _already_staged(bucket: ObjectStore, name: str) -> bool:
    """Whether an earlier try stored the whole file (its description is written last) before
    something after it failed: putting it again would purge the earlier chunks, which only the
    artifact service may do, so a retry only announces it."""
    try:
        info = await bucket.get_info(name)
    except ObjectNotFoundError:
        return False
    return not info.deleted


class Stager:
    def __init__(self, js: JetStreamContext, job_id: str, attempt: int) -> None:
        self.js, self.job_id, self.attempt = js, job_id, attempt
        self.staged: list[str] = []
        self._bucket: ObjectStore | None = None

    async def stage(self, record: FileRecord, attempts: int = 5) -> str | None:
        """Stage one file; its artifact id, or None when NATS would not take it (logged)."""
        with tracer("runwright.executor").start_as_current_span(
            "stage artifact",
            attributes={
                "runwright.artifact.kind": record.kind,
                "runwright.artifact.size": record.size,
            },
        ):
            return await self._stage(record, attempts)

    async def _stage(self, record: FileRecord, attempts: int) -> str | None:
        artifact_id = str(uuid.uuid4())
        for attempt in range(attempts):
            try:
                if self._bucket is None:
                    self._bucket = await staging_bucket(self.js)
                if attempt == 0 or not await _already_staged(self._bucket, artifact_id):
                    with record.path.open("rb") as handle:
                        await self._bucket.put(artifact_id, handle)
                await publish(
                    self.js,
                    subjects.artifact_staged(self.job_id),
                    ArtifactStaged(
                        artifact_id=artifact_id,
                        job_id=self.job_id,
                        attempt=self.attempt,
                        kind=record.kind,  # type: ignore[arg-type]
                        name=record.name,
                        object_name=artifact_id,
                        size=record.size,
                        sha256=record.sha256,
                        ordinal=record.ordinal,
                        original_name=record.original_name,
                        content_type=record.content_type,
                        at=datetime.now(UTC),
                    ),
                    msg_id=artifact_id,
                )
            except Exception as exc:
                log.warning(
                    "staging a file failed; retrying",
                    name=record.name,
                    error=str(exc) or type(exc).__name__,
                )
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            record.artifact_id = artifact_id
            self.staged.append(artifact_id)
            return artifact_id
        log.error(
            "could not hand a file over; it stays on the executor's disk",
            name=record.name,
            path=str(record.path),
        )
        return None
