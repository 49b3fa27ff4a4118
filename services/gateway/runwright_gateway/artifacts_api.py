"""``/api/v1/jobs/{id}/artifacts`` and ``/api/v1/artifacts/{id}``: list and download artifacts.

S3: after the token check, a redirect to a presigned URL the artifact service mints (the gateway
holds no store credentials). Filesystem (the embedded set-up): the gateway streams the file.
Downloads are attachments with ``nosniff``; images and video may be served inline (``?inline=1``).
The filesystem stream answers a single byte ``Range`` (206), so a video player can seek.
"""

from __future__ import annotations

import re
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
from runwright_gateway.problems import Problem, not_found

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


async def _chunks(
    store: FilesystemStore, key: str, span: tuple[int, int] | None = None
) -> AsyncIterator[bytes]:
    if span is None:
        opened = await store.open(key)
    else:
        opened = await store.open_range(key, span[0], span[1] - span[0] + 1)
    async with opened as stream:
        async for chunk in stream:
            yield chunk


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range a ``Range`` header asks for, as (first, last); None for the whole file
    (no header, several ranges or a unit other than bytes: answering in full is allowed)."""
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        raise Problem(
            416,
            "Range Not Satisfiable",
            f"the file has {size} bytes",
            code="range_not_satisfiable",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


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
        size: int = row["size"]
        span = byte_range(request.headers.get("range"), size)
        headers = {
            "Content-Disposition": content_disposition(
                row["name"], content_type=row["content_type"], inline=inline
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Length": str(size if span is None else span[1] - span[0] + 1),
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=300",
            "Content-Security-Policy": "default-src 'none'; media-src 'self'; img-src 'self'; "
            "sandbox",
        }
        if span is not None:
            headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{size}"
        return Stream(
            _chunks(store, row["storage_key"], span),
            media_type=row["content_type"],
            headers=headers,
            status_code=200 if span is None else 206,
        )
