"""``/api/v1/jobs/{id}/artifacts`` and ``/api/v1/artifacts/{id}``: list and download artifacts.

S3: after the token check, a redirect to a presigned URL the artifact service mints (the gateway
holds no store credentials). Filesystem (the embedded set-up): the gateway streams the file.
Downloads are attachments with ``nosniff``; images and video may be served inline (``?inline=1``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.response import Redirect, Stream
from msgspec import Struct
from runwright_bus import request as nats_request
from runwright_proto import subjects
from runwright_proto.artifacts import PresignArtifact, PresignReply
from runwright_storage import FilesystemStore, content_disposition

from runwright_gateway.auth import require_token
from runwright_gateway.problems import not_found

INLINE_TYPES = ("image/", "video/")


class ArtifactView(Struct, kw_only=True):
    id: str
    job_id: str
    ordinal: int | None
    kind: str
    name: str
    size: int
    content_type: str
    sha256: str
    created_at: datetime
    expires_at: datetime
    url: str


def view(row: asyncpg.Record) -> ArtifactView:
    return ArtifactView(
        id=str(row["id"]),
        job_id=str(row["job_id"]),
        ordinal=row["ordinal"],
        kind=row["kind"],
        name=row["name"],
        size=row["size"],
        content_type=row["content_type"],
        sha256=row["sha256"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        url=f"/api/v1/artifacts/{row['id']}",
    )


def _uuid(value: str, what: str) -> UUID:
    try:
        return UUID(value)
    except ValueError as exc:
        raise not_found(f"{what} {value!r}") from exc


async def _chunks(store: FilesystemStore, key: str) -> AsyncIterator[bytes]:
    async with await store.open(key) as stream:
        async for chunk in stream:
            yield chunk


class ArtifactsController(Controller):
    guards = [require_token]

    @get("/api/v1/jobs/{job_id:str}/artifacts")
    async def list_for_job(
        self, request: Request[Any, Any, Any], job_id: str
    ) -> dict[str, list[ArtifactView]]:
        uid = _uuid(job_id, "job")
        pool = request.app.state.pool
        if await pool.fetchval("SELECT true FROM queue.jobs WHERE id = $1", uid) is None:
            raise not_found(f"job {job_id}")
        rows = await pool.fetch(
            "SELECT * FROM artifact.artifacts WHERE job_id = $1 ORDER BY created_at, id", uid
        )
        return {"items": [view(r) for r in rows]}

    @get("/api/v1/artifacts/{artifact_id:str}")
    async def download(
        self, request: Request[Any, Any, Any], artifact_id: str, inline: bool = False
    ) -> Response[Any]:
        state = request.app.state
        row = await state.pool.fetchrow(
            "SELECT * FROM artifact.artifacts WHERE id = $1", _uuid(artifact_id, "artifact")
        )
        if row is None:
            raise not_found(f"artifact {artifact_id}")
        inline = inline and row["content_type"].startswith(INLINE_TYPES)
        if state.settings.s3_endpoint:
            reply: PresignReply = await nats_request(
                state.nc,
                subjects.ARTIFACT_PRESIGN,
                PresignArtifact(artifact_id=artifact_id, inline=inline),
                PresignReply,
            )
            if reply.url:
                return Redirect(reply.url, status_code=302, headers={"Cache-Control": "no-store"})
        store: FilesystemStore = state.files
        headers = {
            "Content-Disposition": content_disposition(
                row["name"], content_type=row["content_type"], inline=inline
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(row["size"]),
            "Cache-Control": "private, max-age=300",
            "Content-Security-Policy": "default-src 'none'; media-src 'self'; img-src 'self'; "
            "sandbox",
        }
        return Stream(
            _chunks(store, row["storage_key"]), media_type=row["content_type"], headers=headers
        )
