"""The filesystem backend: one file per key under a root directory, for the embedded set-up.

A put writes a temporary file beside its target and ``os.replace``s it into place after fsync, so
a key only ever names a complete object. Size, SHA-256 and content type go to a small sidecar
(``.<name>.meta``) that records the data file's inode; a sidecar that does not match the file (a
crash between the two renames, or a file put there by hand) is ignored and the facts recomputed.
Names starting with '.' are never keys, so temporary and sidecar files cannot collide with objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import secrets
import stat as stat_mode
from collections.abc import AsyncIterable
from pathlib import Path
from typing import IO

from runwright_storage.base import (
    CHUNK_SIZE,
    Meter,
    ObjectStream,
    StoredObject,
    check_expiry,
)
from runwright_storage.errors import InvalidKey, NotFound
from runwright_storage.keys import check_content_type, key_parts
from runwright_storage.sniff import SNIFF_BYTES, sniff_content_type

WRITE_BATCH = 1024 * 1024
"""Small chunks are gathered up to this size before one write in a worker thread."""

_MISSING = (FileNotFoundError, NotADirectoryError)


class FilesystemStore:
    """Objects as files under ``root``; ``presigned_url`` is None (the gateway streams them)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"FilesystemStore({str(self.root)!r})"

    def path_for(self, key: str) -> Path:
        """The file that holds ``key``; ``InvalidKey`` (a ValueError) for keys that could escape."""
        path = self.root.joinpath(*key_parts(key))
        if not path.resolve().is_relative_to(self.root.resolve()):
            raise InvalidKey(key, "leads outside the store's directory")
        return path

    async def put(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        path = self.path_for(key)
        check_content_type(content_type)
        meter = Meter(key, max_bytes)
        writer = await asyncio.to_thread(_Writer, key, path)
        try:
            batch = bytearray()
            async for chunk in chunks:
                meter.add(chunk)
                batch += chunk
                if len(batch) >= WRITE_BATCH:
                    full, batch = batch, bytearray()
                    await asyncio.to_thread(writer.write, full)
            stored = meter.stored(key, content_type)
            await asyncio.to_thread(writer.commit, batch, stored)
        except BaseException:
            await asyncio.to_thread(writer.discard)
            raise
        return stored

    async def open(self, key: str) -> ObjectStream:
        path = self.path_for(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except (*_MISSING, IsADirectoryError):
            raise NotFound(key) from None
        return ObjectStream(lambda: file.read(CHUNK_SIZE), file.close)

    async def open_range(self, key: str, start: int, length: int) -> ObjectStream:
        """``length`` bytes of the object from byte ``start`` (an HTTP Range request)."""
        path = self.path_for(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except (*_MISSING, IsADirectoryError):
            raise NotFound(key) from None
        await asyncio.to_thread(file.seek, start)
        left = length

        def read() -> bytes:
            nonlocal left
            chunk = file.read(min(CHUNK_SIZE, left)) if left > 0 else b""
            left -= len(chunk)
            return chunk

        return ObjectStream(read, file.close)

    async def stat(self, key: str) -> StoredObject | None:
        return await asyncio.to_thread(_stat, key, self.path_for(key))

    async def delete(self, key: str) -> None:
        path = self.path_for(key)

        def remove() -> None:
            for doomed in (path, _meta_path(path)):
                with contextlib.suppress(*_MISSING):
                    doomed.unlink()

        await asyncio.to_thread(remove)

    async def presigned_url(
        self, key: str, *, expires_s: int, filename: str, content_type: str, inline: bool
    ) -> str | None:
        self.path_for(key)
        check_expiry(expires_s)
        check_content_type(content_type)
        return None

    async def ensure_ready(self) -> None:
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)

    async def check(self) -> str:
        def probe() -> str:
            if not self.root.is_dir():
                return f"artifact directory {str(self.root)!r} does not exist"
            if not os.access(self.root, os.W_OK | os.X_OK):
                return f"artifact directory {str(self.root)!r} is not writable"
            return "ok"

        return await asyncio.to_thread(probe)


class _Writer:
    """A temporary file beside the target, renamed into place only when complete (sync, threads)."""

    def __init__(self, key: str, path: Path) -> None:
        self.path = path
        self.temp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_dir():
                raise IsADirectoryError(path)
            self.file: IO[bytes] = self.temp.open("xb")
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            raise InvalidKey(
                key, "clashes with another key: a directory store cannot hold both 'a' and 'a/b'"
            ) from None

    def write(self, data: bytes | bytearray) -> None:
        self.file.write(data)

    def commit(self, tail: bytes | bytearray, stored: StoredObject) -> None:
        self.file.write(tail)
        self.file.flush()
        os.fsync(self.file.fileno())
        inode = os.fstat(self.file.fileno()).st_ino
        self.file.close()
        meta = {
            "size": stored.size,
            "sha256": stored.sha256,
            "content_type": stored.content_type,
            "inode": inode,
        }
        _write_atomically(_meta_path(self.path), json.dumps(meta).encode())
        os.replace(self.temp, self.path)
        _fsync_dir(self.path.parent)

    def discard(self) -> None:
        self.file.close()
        self.temp.unlink(missing_ok=True)


def _meta_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.meta")


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(f"{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        with temp.open("xb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _stat(key: str, path: Path) -> StoredObject | None:
    try:
        info = path.stat()
    except _MISSING:
        return None
    if not stat_mode.S_ISREG(info.st_mode):
        return None
    meta = _read_meta(_meta_path(path))
    sha256, content_type = meta.get("sha256"), meta.get("content_type")
    if (
        meta.get("inode") == info.st_ino
        and meta.get("size") == info.st_size
        and isinstance(sha256, str)
        and isinstance(content_type, str)
    ):
        return StoredObject(key, info.st_size, sha256, content_type)
    return _recompute(key, path)


def _read_meta(path: Path) -> dict[str, object]:
    try:
        meta = json.loads(path.read_bytes())
    except (*_MISSING, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _recompute(key: str, path: Path) -> StoredObject | None:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as file:
            head = file.read(SNIFF_BYTES)
            digest.update(head)
            size += len(head)
            while chunk := file.read(CHUNK_SIZE):
                digest.update(chunk)
                size += len(chunk)
    except _MISSING:
        return None
    return StoredObject(key, size, digest.hexdigest(), sniff_content_type(head, path.name))
