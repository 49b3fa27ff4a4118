"""Short-lived download URLs, minted only for the gateway after it authorised the request."""

from __future__ import annotations

from uuid import UUID

import asyncpg
from runwright_common.errors import PermanentError
from runwright_proto.artifacts import PresignArtifact, PresignReply
from runwright_storage import ArtifactStore

INLINE_TYPES = ("image/", "video/")


async def presign(
    pool: asyncpg.Pool, store: ArtifactStore, ttl_s: int, cmd: PresignArtifact
) -> PresignReply:
    row = await pool.fetchrow(
        "SELECT storage_key, name, content_type FROM artifact.artifacts WHERE id = $1",
        UUID(cmd.artifact_id),
    )
    if row is None:
        raise PermanentError(f"artifact {cmd.artifact_id} does not exist")
    inline = cmd.inline and row["content_type"].startswith(INLINE_TYPES)
    ttl = max(1, min(ttl_s, 900))
    url = await store.presigned_url(
        row["storage_key"],
        expires_s=ttl,
        filename=row["name"],
        content_type=row["content_type"],
        inline=inline,
    )
    return PresignReply(url=url, expires_s=ttl if url else 0)
