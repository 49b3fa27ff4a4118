"""The S3 backend (AWS S3, MinIO, anything speaking the protocol), through the minio SDK.

The SDK blocks, so each call runs in a thread. A put streams: up to one 5 MiB part is gathered
first; a smaller object goes up in one PUT with its SHA-256 as metadata, a larger one as a
multipart upload fed through a bounded pipe, then relabelled with its SHA-256 by a server-side
copy onto itself (S3 takes metadata only when an upload starts, before the hash is known). A failed
or oversized upload is aborted, so nothing new appears under the key. Memory per upload stays near
three parts (15 MiB) whatever the object's size: the SDK copies each part once or twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from datetime import timedelta
from functools import partial
from typing import BinaryIO, cast
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.commonconfig import REPLACE, CopySource
from minio.error import MinioException, S3Error
from runwright_common.logging import get_logger

from runwright_storage.base import (
    CHUNK_SIZE,
    Meter,
    ObjectStream,
    StoredObject,
    check_expiry,
)
from runwright_storage.disposition import content_disposition
from runwright_storage.errors import NotFound, StoreUnavailable
from runwright_storage.keys import check_content_type, key_parts
from runwright_storage.pipe import ChunkPipe, run_in_own_thread
from runwright_storage.sniff import OCTET_STREAM

PART_SIZE = 5 * 1024 * 1024
MAX_OBJECT_BYTES = 5 * 1024**3
"""The largest object one server-side copy can relabel, so the largest this store accepts."""
CHECK_TIMEOUT_S = 5.0
log = get_logger("runwright.storage.s3")
SHA256_HEADER = "x-amz-meta-sha256"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class S3Store:
    """Objects in one bucket; downloads through presigned GET URLs."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool,
        region: str = "us-east-1",
    ) -> None:
        self.endpoint, secure = _split_endpoint(endpoint, secure)
        self.bucket = bucket
        self.region = region
        self._client = Minio(
            self.endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=urllib3.PoolManager(
                timeout=urllib3.Timeout(connect=5.0, read=60.0),
                retries=urllib3.Retry(
                    total=3, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]
                ),
                maxsize=16,
                ca_certs=os.environ.get("SSL_CERT_FILE"),
            ),
        )

    def __repr__(self) -> str:  # never the credentials
        return f"S3Store({self.endpoint!r}, bucket={self.bucket!r})"

    async def put(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str,
        max_bytes: int | None = None,
    ) -> StoredObject:
        key_parts(key)
        check_content_type(content_type)
        limit = MAX_OBJECT_BYTES if max_bytes is None else min(max_bytes, MAX_OBJECT_BYTES)
        meter = Meter(key, limit)
        source = aiter(chunks)
        head: list[bytes] = []
        async for chunk in source:
            meter.add(chunk)
            head.append(chunk)
            if meter.size > PART_SIZE:
                return await self._put_parts(key, head, source, content_type, meter)
        stored = meter.stored(key, content_type)
        with _sdk_errors():
            await asyncio.to_thread(
                self._client.put_object,
                self.bucket,
                key,
                io.BytesIO(b"".join(head)),
                meter.size,
                content_type=content_type,
                metadata={SHA256_HEADER: stored.sha256},
            )
        return stored

    async def _put_parts(
        self,
        key: str,
        head: list[bytes],
        source: AsyncIterator[bytes],
        content_type: str,
        meter: Meter,
    ) -> StoredObject:
        pipe = ChunkPipe()
        upload = run_in_own_thread(
            partial(
                self._client.put_object,
                self.bucket,
                key,
                cast(BinaryIO, pipe),
                -1,
                content_type=content_type,
                part_size=PART_SIZE,
                num_parallel_uploads=1,  # one part in memory at a time
            ),
            name="runwright-s3-upload",
        )
        with _sdk_errors():
            try:
                while head:
                    await pipe.send(head.pop(0), upload)  # drops each reference once queued
                async for chunk in source:
                    meter.add(chunk)
                    await pipe.send(chunk, upload)
                await pipe.finish(upload)
                written = await upload
            except BaseException:
                pipe.abort()  # the SDK then aborts the multipart upload: no parts are kept
                try:
                    await upload
                except Exception as exc:  # the first error is the one raised
                    log.warning("aborted S3 upload ended with an error", key=key, error=str(exc))
                raise
            stored = meter.stored(key, content_type)
            try:
                await asyncio.to_thread(
                    self._client.copy_object,
                    self.bucket,
                    key,
                    CopySource(self.bucket, key, match_etag=written.etag),
                    metadata={"Content-Type": content_type, SHA256_HEADER: stored.sha256},
                    metadata_directive=REPLACE,
                )
            except BaseException:
                try:
                    await asyncio.to_thread(self._client.remove_object, self.bucket, key)
                except Exception as exc:  # the first error is the one raised
                    log.warning("S3 object left after a failed write", key=key, error=str(exc))
                raise
        return stored

    async def open(self, key: str) -> ObjectStream:
        key_parts(key)
        with _sdk_errors(key):
            response = await asyncio.to_thread(self._client.get_object, self.bucket, key)

        def read() -> bytes:
            with _sdk_errors(key):
                return response.read(CHUNK_SIZE)

        def close() -> None:
            response.close()
            response.release_conn()

        return ObjectStream(read, close)

    async def stat(self, key: str) -> StoredObject | None:
        key_parts(key)
        try:
            with _sdk_errors(key):
                info = await asyncio.to_thread(self._client.stat_object, self.bucket, key)
        except NotFound:
            return None
        sha256 = (info.metadata or {}).get(SHA256_HEADER)
        if sha256 is None or not _HEX64.fullmatch(sha256):
            sha256 = await self._digest(key)  # not written by this store: hash it once
            if sha256 is None:
                return None
        return StoredObject(key, info.size or 0, sha256, info.content_type or OCTET_STREAM)

    async def _digest(self, key: str) -> str | None:
        try:
            stream = await self.open(key)
        except NotFound:
            return None
        digest = hashlib.sha256()
        async with stream:
            async for chunk in stream:
                digest.update(chunk)
        return digest.hexdigest()

    async def delete(self, key: str) -> None:
        key_parts(key)
        with _sdk_errors():
            await asyncio.to_thread(self._client.remove_object, self.bucket, key)

    async def presigned_url(
        self, key: str, *, expires_s: int, filename: str, content_type: str, inline: bool
    ) -> str | None:
        key_parts(key)
        check_expiry(expires_s)
        check_content_type(content_type)
        headers: dict[str, str | list[str] | tuple[str]] = {
            "response-content-disposition": content_disposition(
                filename, content_type=content_type, inline=inline
            ),
            "response-content-type": content_type,
            "response-cache-control": "private, no-store",
        }
        with _sdk_errors():
            return await asyncio.to_thread(
                self._client.presigned_get_object,
                self.bucket,
                key,
                expires=timedelta(seconds=expires_s),
                response_headers=headers,
            )

    async def ensure_ready(self) -> None:
        def make_bucket() -> None:
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket, location=self.region)
            except S3Error as exc:
                if exc.code != "BucketAlreadyOwnedByYou":  # another replica was first
                    raise

        with _sdk_errors():
            await asyncio.to_thread(make_bucket)

    async def check(self) -> str:
        probe = asyncio.to_thread(self._client.bucket_exists, self.bucket)
        try:
            exists = await asyncio.wait_for(probe, CHECK_TIMEOUT_S)
        except TimeoutError:
            return f"S3 at {self.endpoint} did not answer within {CHECK_TIMEOUT_S:g} s"
        except Exception as exc:
            log.warning("S3 readiness check failed", endpoint=self.endpoint, error=str(exc))
            return f"S3 at {self.endpoint}: {type(exc).__name__}: {exc}"[:300]
        return "ok" if exists else f"bucket {self.bucket!r} does not exist at {self.endpoint}"


@contextlib.contextmanager
def _sdk_errors(key: str | None = None) -> Iterator[None]:
    """SDK and network failures become ``StoreUnavailable``; a missing key, ``NotFound``."""
    try:
        yield
    except S3Error as exc:
        if key is not None and exc.code in ("NoSuchKey", "NotFound"):
            raise NotFound(key) from exc
        raise StoreUnavailable(f"S3 {exc.code}: {exc.message}") from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise StoreUnavailable(f"S3 request failed: {type(exc).__name__}: {exc}") from exc


def _split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """``host[:port]`` as given, or taken from ``http(s)://host[:port]`` (whose scheme wins)."""
    if "://" not in endpoint:
        return endpoint.rstrip("/"), secure
    url = urlsplit(endpoint)
    if url.scheme not in ("http", "https") or not url.netloc or url.path.strip("/"):
        raise ValueError(f"S3 endpoint must be host[:port] or http(s)://host[:port]: {endpoint!r}")
    return url.netloc, url.scheme == "https"
