"""``/api/v1/jobs/{id}/artifacts`` and ``/api/v1/artifacts/{id}``: list and download artifacts.

S3: after the token check, a redirect to a presigned URL the artifact service mints (the gateway
holds no store credentials). Filesystem (the embedded set-up): the gateway streams the file.
Downloads are attachments with ``nosniff``; images and video may be served inline (``?inline=1``).
The filesystem stream answers a single byte ``Range`` (206), so a video player can seek.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.response import Redirect, Stream
from runwright_bus import request as nats_request
from runwright_proto import subjects
from runwright_proto.api.artifacts import ArtifactList, ArtifactView
from runwright_proto.artifacts import PresignArtifact, PresignReply
from runwright_storage import FilesystemStore, content_disposition

from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.problems import Problem, not_found
from runwright_gateway.responses import answers, empty, problems

INLINE_TYPES = ("image/", "video/")


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


FILE = ResponseSpec(
    data_container=bytes,
    description="The file (``Content-Disposition: attachment`` unless ``inline``)",
    media_type="application/octet-stream",
    generate_examples=False,
)
DOWNLOAD = answers(
    {
        200: FILE,
        206: ResponseSpec(bytes, False, "The byte range asked for", "application/octet-stream"),
    },
    empty(302, "With an S3 store: to a short-lived presigned URL (``Location``)"),
    problems(404, 416),
)


class ArtifactsController(Controller):
    guards = [authorize]
    security = SECURITY

    @get("/api/v1/jobs/{job_id:str}/artifacts", responses=problems(404))
    async def list_for_job(self, request: Request[Any, Any, Any], job_id: UUID) -> ArtifactList:
        """A job's screenshots, videos and downloads, oldest first."""
        pool = request.app.state.pool
        workspace = principal(request).workspace
        found = "SELECT true FROM queue.jobs WHERE id = $1 AND workspace = $2"
        if await pool.fetchval(found, job_id, workspace) is None:
            raise not_found(f"job {job_id}")
        rows = await pool.fetch(
            "SELECT * FROM artifact.artifacts WHERE job_id = $1 ORDER BY created_at, id", job_id
        )
        return ArtifactList(items=[view(r) for r in rows])

    @get("/api/v1/artifacts/{artifact_id:str}", responses=DOWNLOAD)
    async def download(
        self, request: Request[Any, Any, Any], artifact_id: UUID, inline: bool = False
    ) -> Response[Any]:
        """Download an artifact; a single byte ``Range`` is answered with 206."""
        state = request.app.state
        # An artifact belongs to its job's workspace.
        row = await state.pool.fetchrow(
            "SELECT a.* FROM artifact.artifacts a JOIN queue.jobs j ON j.id = a.job_id"
            " WHERE a.id = $1 AND j.workspace = $2",
            artifact_id,
            principal(request).workspace,
        )
        if row is None:
            raise not_found(f"artifact {artifact_id}")
        inline = inline and row["content_type"].startswith(INLINE_TYPES)
        if state.settings.s3_endpoint:
            reply: PresignReply = await nats_request(
                state.nc,
                subjects.ARTIFACT_PRESIGN,
                PresignArtifact(artifact_id=str(artifact_id), inline=inline),
                PresignReply,
            )
            if reply.url:
                return Redirect(reply.url, status_code=302, headers={"Cache-Control": "no-store"})
        return stream(state.files, row, inline, request.headers.get("range"))


def stream(store: FilesystemStore, row: asyncpg.Record, inline: bool, range_: str | None) -> Stream:
    """The file from the filesystem store: whole, or the one byte range asked for."""
    size: int = row["size"]
    span = byte_range(range_, size)
    headers = {
        "Content-Disposition": content_disposition(
            row["name"], content_type=row["content_type"], inline=inline
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Length": str(size if span is None else span[1] - span[0] + 1),
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=300",
        "Content-Security-Policy": "default-src 'none'; media-src 'self'; img-src 'self'; sandbox",
    }
    if span is not None:
        headers["Content-Range"] = f"bytes {span[0]}-{span[1]}/{size}"
    return Stream(
        _chunks(store, row["storage_key"], span),
        media_type=row["content_type"],
        headers=headers,
        status_code=200 if span is None else 206,
    )
