"""Artifacts: files a run produced, handed over by executors and kept by the artifact service."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from runwright_proto.commands import AwareDatetime

ArtifactKind = Literal["screenshot", "video", "export", "download"]
ARTIFACT_KINDS: tuple[str, ...] = ("screenshot", "video", "export", "download")


class _Message(Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class ArtifactStaged(_Message, tag="artifact.staged", frozen=True):
    """An executor put ``object_name`` into the staging object store (``Nats-Msg-Id``: the id)."""

    artifact_id: str
    job_id: str
    attempt: int
    kind: ArtifactKind
    name: str
    object_name: str
    size: int
    sha256: str
    at: AwareDatetime
    ordinal: int | None = None
    original_name: str | None = None
    content_type: str | None = None


class ArtifactStored(_Message, tag="artifact.stored", frozen=True):
    """The artifact service stored the file and recorded its metadata."""

    artifact_id: str
    job_id: str
    kind: ArtifactKind
    name: str
    size: int
    sha256: str
    content_type: str
    at: AwareDatetime
    ordinal: int | None = None


class PresignArtifact(_Message, tag="artifact.presign", frozen=True):
    artifact_id: str
    inline: bool = False


class PresignReply(_Message, tag="artifact.presigned", frozen=True):
    """``url`` is None when the store has no presigned URLs (the filesystem backend)."""

    url: str | None
    expires_s: int = 0
