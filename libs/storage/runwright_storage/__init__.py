"""Artifact storage: one interface (``ArtifactStore``), two backends (S3 and a directory).

``open_store(...)`` picks the backend from the settings; call ``ensure_ready()`` at start-up, then
``put`` streams bytes in, ``await open(key)`` gives an ``ObjectStream`` (use it with ``async with``)
and ``presigned_url`` mints a short-lived download link where the backend can.
"""

from __future__ import annotations

from pathlib import Path

from runwright_storage.base import (
    MAX_PRESIGN_S,
    ArtifactStore,
    ObjectStream,
    StoredObject,
)
from runwright_storage.disposition import content_disposition, safe_filename
from runwright_storage.errors import (
    InvalidKey,
    NotFound,
    StorageError,
    StoreUnavailable,
    TooLarge,
)
from runwright_storage.filesystem import FilesystemStore
from runwright_storage.keys import check_content_type, key_parts
from runwright_storage.s3 import S3Store
from runwright_storage.sniff import SNIFF_BYTES, sniff_content_type

__all__ = [
    "MAX_PRESIGN_S",
    "SNIFF_BYTES",
    "ArtifactStore",
    "FilesystemStore",
    "InvalidKey",
    "NotFound",
    "ObjectStream",
    "S3Store",
    "StorageError",
    "StoreUnavailable",
    "StoredObject",
    "TooLarge",
    "check_content_type",
    "content_disposition",
    "key_parts",
    "open_store",
    "safe_filename",
    "sniff_content_type",
]


def open_store(
    *,
    artifact_dir: str,
    s3_endpoint: str,
    s3_access_key: str,
    s3_secret_key: str,
    s3_bucket: str,
    s3_secure: bool,
) -> ArtifactStore:
    """``S3Store`` when ``s3_endpoint`` is set, else ``FilesystemStore(artifact_dir)``.

    Nothing is contacted here; call ``ensure_ready()`` at start-up.
    """
    if s3_endpoint:
        if not s3_bucket:
            raise ValueError("an S3 bucket name is required when an S3 endpoint is set")
        return S3Store(s3_endpoint, s3_access_key, s3_secret_key, s3_bucket, s3_secure)
    if not artifact_dir:
        raise ValueError("set either an artifact directory or an S3 endpoint")
    return FilesystemStore(Path(artifact_dir))
