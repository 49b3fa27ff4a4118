"""The artifact store: one set of tests run against both backends.

The S3 backend runs against a real S3-protocol server on loopback (moto's server, in-process),
through the real SDK and HTTP. moto checks neither signatures nor expiry, so the presigned-URL test
checks what the URL asks for (``X-Amz-Expires``, the response headers), not that S3 enforces it.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import logging
import os
import socket
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import httpx
import pytest
from minio import Minio
from moto.server import ThreadedMotoServer
from runwright_storage import (
    ArtifactStore,
    FilesystemStore,
    InvalidKey,
    NotFound,
    S3Store,
    StoreUnavailable,
    TooLarge,
    content_disposition,
    open_store,
    sniff_content_type,
)
from runwright_storage.base import CHUNK_SIZE

MiB = 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


@dataclass
class Backend:
    """A ready store plus the probes a test needs to look behind it."""

    kind: str
    store: ArtifactStore
    leftovers: Callable[[], Awaitable[list[str]]]
    """Everything the backend holds: files (filesystem), objects and open uploads (S3)."""
    put_foreign: Callable[[str, bytes], Awaitable[None]]
    """Place an object the way another tool would, without this store's metadata."""


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"{host}:{port}"
    server.stop()


def _filesystem(root: Path) -> Backend:
    async def leftovers() -> list[str]:
        return sorted(str(p.relative_to(root)) for p in root.rglob("*") if not p.is_dir())

    async def put_foreign(key: str, data: bytes) -> None:
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return Backend("filesystem", FilesystemStore(root), leftovers, put_foreign)


def _s3(endpoint: str) -> Backend:
    bucket = f"artifacts-{uuid4().hex[:12]}"
    store = S3Store(endpoint, "testing", "testing", bucket, secure=False)
    sdk = Minio(endpoint, access_key="testing", secret_key="testing", secure=False)

    async def leftovers() -> list[str]:
        async with httpx.AsyncClient(base_url=f"http://{endpoint}") as client:
            uploads = await client.get(f"/{bucket}?uploads")
        open_uploads = [f"upload:{key}" for key in _xml_keys(uploads.text)]
        objects = await asyncio.to_thread(lambda: list(sdk.list_objects(bucket, recursive=True)))
        return sorted([str(o.object_name) for o in objects] + open_uploads)

    async def put_foreign(key: str, data: bytes) -> None:
        await asyncio.to_thread(sdk.put_object, bucket, key, io.BytesIO(data), len(data))

    return Backend("s3", store, leftovers, put_foreign)


def _xml_keys(text: str) -> list[str]:
    return [part.split("</Key>", 1)[0] for part in text.split("<Key>")[1:]]


@pytest.fixture(params=["filesystem", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "filesystem":
        chosen = _filesystem(tmp_path / "artifacts")
    else:
        chosen = _s3(request.getfixturevalue("s3_endpoint"))
    await chosen.store.ensure_ready()
    return chosen


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
        await asyncio.sleep(0)


async def read_all(store: ArtifactStore, key: str) -> tuple[bytes, list[int]]:
    sizes: list[int] = []
    async with await store.open(key) as stream:
        body = bytearray()
        async for chunk in stream:
            sizes.append(len(chunk))
            body += chunk
    return bytes(body), sizes


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_bytes_put_come_back_with_their_size_sha256_and_content_type(
    backend: Backend,
) -> None:
    data = b"hello, artifact\n" * 100
    stored = await backend.store.put("jobs/j1/a1", chunked(data, 7), content_type="text/plain")

    assert (stored.key, stored.size, stored.sha256) == ("jobs/j1/a1", len(data), sha(data))
    assert await backend.store.stat("jobs/j1/a1") == stored
    assert (await read_all(backend.store, "jobs/j1/a1"))[0] == data
    assert await backend.store.check() == "ok"


async def test_a_12_mib_object_streams_in_as_it_is_produced_and_back_out_in_chunks(
    backend: Backend,
) -> None:
    data = os.urandom(12 * MiB)
    landed_before_the_end: list[str] = []

    async def produce() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            if start == 11 * MiB:  # the store must already be writing: nothing waits for the end
                landed_before_the_end.extend(await backend.leftovers())
            yield data[start : start + 64 * 1024]

    stored = await backend.store.put("jobs/j1/video", produce(), content_type="video/webm")

    assert landed_before_the_end, "nothing reached the backend before the last chunk"
    assert (stored.size, stored.sha256) == (len(data), sha(data))
    assert await backend.store.stat("jobs/j1/video") == stored
    body, sizes = await read_all(backend.store, "jobs/j1/video")
    assert body == data
    assert len(sizes) >= 12
    assert max(sizes) <= CHUNK_SIZE
    expected = {"filesystem": ["jobs/j1/.video.meta", "jobs/j1/video"], "s3": ["jobs/j1/video"]}
    assert await backend.leftovers() == expected[backend.kind]


@pytest.mark.parametrize(("size", "limit"), [(2000, 1000), (8 * MiB, 7 * MiB)])
async def test_more_than_max_bytes_raises_too_large_and_leaves_nothing_behind(
    backend: Backend, size: int, limit: int
) -> None:
    with pytest.raises(TooLarge) as caught:
        await backend.store.put(
            "jobs/j1/big", chunked(bytes(size)), content_type="application/zip", max_bytes=limit
        )

    assert caught.value.limit == limit
    assert await backend.store.stat("jobs/j1/big") is None
    assert await backend.leftovers() == []


async def test_a_failed_overwrite_keeps_the_previous_object(backend: Backend) -> None:
    first = await backend.store.put("jobs/j1/a", chunked(b"first"), content_type="text/plain")

    with pytest.raises(TooLarge):
        await backend.store.put(
            "jobs/j1/a", chunked(bytes(6 * MiB)), content_type="text/plain", max_bytes=6 * MiB - 1
        )

    assert await backend.store.stat("jobs/j1/a") == first
    assert (await read_all(backend.store, "jobs/j1/a"))[0] == b"first"


async def test_a_source_that_fails_midway_leaves_nothing_behind(backend: Backend) -> None:
    async def failing() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield bytes(MiB)
        raise RuntimeError("the staged file vanished")

    with pytest.raises(RuntimeError, match="vanished"):
        await backend.store.put("jobs/j1/b", failing(), content_type="video/mp4")

    assert await backend.store.stat("jobs/j1/b") is None
    assert await backend.leftovers() == []


async def test_cancelling_a_put_midway_leaves_nothing_behind(backend: Backend) -> None:
    stalled = asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        for _ in range(7):
            yield bytes(MiB)
        stalled.set()
        await asyncio.Event().wait()
        yield b""

    put = asyncio.create_task(backend.store.put("jobs/j1/c", stalling(), content_type="video/mp4"))
    await asyncio.wait_for(stalled.wait(), 30)
    put.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(put, 30)

    assert await backend.leftovers() == []


async def test_an_overwrite_replaces_the_object(backend: Backend) -> None:
    await backend.store.put("k", chunked(b"old"), content_type="text/plain")
    stored = await backend.store.put("k", chunked(PNG), content_type="image/png")

    assert await backend.store.stat("k") == stored
    assert stored.content_type == "image/png"
    assert (await read_all(backend.store, "k"))[0] == PNG


async def test_delete_is_idempotent(backend: Backend) -> None:
    await backend.store.put("jobs/j1/d", chunked(b"x"), content_type="text/plain")

    await backend.store.delete("jobs/j1/d")
    await backend.store.delete("jobs/j1/d")
    await backend.store.delete("jobs/never/stored")

    assert await backend.store.stat("jobs/j1/d") is None
    assert await backend.leftovers() == []


async def test_open_of_a_missing_key_raises_not_found(backend: Backend) -> None:
    with pytest.raises(NotFound, match="jobs/j1/missing"):
        await backend.store.open("jobs/j1/missing")
    assert await backend.store.stat("jobs/j1/missing") is None


async def test_stat_of_an_object_stored_by_another_tool_hashes_it(backend: Backend) -> None:
    await backend.put_foreign("jobs/j1/foreign.png", PNG)

    stored = await backend.store.stat("jobs/j1/foreign.png")

    assert stored is not None
    assert (stored.size, stored.sha256) == (len(PNG), sha(PNG))


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/abs",
        "a\\b",
        "a/../b",
        "a/./b",
        "a//b",
        "a/",
        "",
        "a\x00b",
        ".hidden",
        "jobs/.a.meta",
        "a b",
        "x" * 1025,
        "y" * 201,
    ],
)
async def test_keys_that_could_escape_the_store_are_rejected_by_both_backends(
    backend: Backend, key: str
) -> None:
    store = backend.store
    attempts: list[Callable[[], Awaitable[object]]] = [
        lambda: store.put(key, chunked(b"x"), content_type="text/plain"),
        lambda: store.open(key),
        lambda: store.stat(key),
        lambda: store.delete(key),
        lambda: store.presigned_url(
            key, expires_s=60, filename="x", content_type="text/plain", inline=False
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ValueError, match="invalid artifact key"):
            await attempt()
    assert await backend.leftovers() == []


def test_filesystem_keys_map_to_files_under_the_root(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)

    assert store.path_for("jobs/j1/a-1.png") == tmp_path / "jobs" / "j1" / "a-1.png"
    for key in ("../../etc/passwd", "/abs", "a\\b"):
        with pytest.raises(InvalidKey):
            store.path_for(key)


async def test_filesystem_refuses_a_key_that_would_leave_through_a_symlink(
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "jobs").symlink_to(outside)
    store = FilesystemStore(tmp_path / "root")

    with pytest.raises(InvalidKey, match="outside"):
        await store.put("jobs/x", chunked(b"x"), content_type="text/plain")
    assert list(outside.iterdir()) == []


async def test_filesystem_refuses_a_key_that_clashes_with_another_keys_directory(
    tmp_path: Path,
) -> None:
    store = FilesystemStore(tmp_path)
    await store.put("jobs/a/b", chunked(b"x"), content_type="text/plain")

    for clash in ("jobs/a", "jobs/a/b/c"):
        with pytest.raises(InvalidKey, match="clashes"):
            await store.put(clash, chunked(b"y"), content_type="text/plain")
        assert await store.stat(clash) is None


async def test_an_upload_the_server_refuses_stops_reading_the_source(s3_endpoint: str) -> None:
    store = S3Store(s3_endpoint, "testing", "testing", "bucket-never-made", secure=False)
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while True:
            produced += 1
            yield bytes(64 * 1024)

    with pytest.raises(StoreUnavailable, match="NoSuchBucket"):
        await asyncio.wait_for(store.put("k", endless(), content_type="video/webm"), 30)
    assert produced < 200  # 12.5 MiB: it gave up after the first part, not at the end


async def test_a_presigned_url_downloads_the_bytes_with_the_requested_headers(
    s3_endpoint: str,
) -> None:
    backend = _s3(s3_endpoint)
    await backend.store.ensure_ready()
    await backend.store.put(
        "jobs/j1/r", chunked(b"%PDF-1.7 report"), content_type="application/pdf"
    )

    url = await backend.store.presigned_url(
        "jobs/j1/r",
        expires_s=600,
        filename="Bericht März.pdf",
        content_type="application/pdf",
        inline=False,
    )

    assert url is not None
    assert int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0]) == 600
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == b"%PDF-1.7 report"
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"Bericht M_rz.pdf\"; filename*=UTF-8''Bericht%20M%C3%A4rz.pdf"
    )


async def test_presigned_urls_live_at_most_15_minutes(backend: Backend) -> None:
    with pytest.raises(ValueError, match="expires_s"):
        await backend.store.presigned_url(
            "k", expires_s=901, filename="x", content_type="text/plain", inline=False
        )


async def test_the_filesystem_store_mints_no_url_so_the_gateway_streams(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path)

    url = await store.presigned_url(
        "k", expires_s=300, filename="x.png", content_type="image/png", inline=True
    )

    assert url is None


@pytest.mark.parametrize(
    ("name", "content_type", "inline", "expected"),
    [
        ("shot.png", "image/png", True, 'inline; filename="shot.png"'),
        ("shot.png", "image/png", False, 'attachment; filename="shot.png"'),
        ("page.html", "text/html", True, 'attachment; filename="page.html"'),
        ("logo.svg", "image/svg+xml", True, 'attachment; filename="logo.svg"'),
        ('../../evil"name.csv', "text/csv", False, 'attachment; filename="evil_name.csv"'),
        (
            "a\r\nSet-Cookie: x.txt",
            "text/plain",
            False,
            'attachment; filename="a__Set-Cookie: x.txt"',
        ),
        ("", "application/zip", False, 'attachment; filename="download"'),
        (
            "日本.pdf",
            "application/pdf",
            True,
            "inline; filename=\"__.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf",
        ),
    ],
)
def test_content_disposition_sanitises_the_name_and_only_inlines_safe_types(
    name: str, content_type: str, inline: bool, expected: str
) -> None:
    assert content_disposition(name, content_type=content_type, inline=inline) == expected


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, "<xml/>" * 20)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (PNG, "x", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "x", "image/jpeg"),
        (b"GIF89a\x01\x00", "x", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "x", "image/webp"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", "x", "video/webm"),
        (b"\x1a\x45\xdf\xa3\xa3\x42\x82\x88matroska", "x", "video/x-matroska"),
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00", "x", "video/mp4"),
        (b"%PDF-1.7\n", "x", "application/pdf"),
        (_zip("a.txt"), "x.zip", "application/zip"),
        (_zip("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"), "x", XLSX),
        (_zip("[Content_Types].xml", "word/document.xml"), "x", DOCX),
        (b"PK\x03\x04" + bytes(26), "report.xlsx", XLSX),
        (gzip.compress(b"x"), "x", "application/gzip"),
        (b'  \n{"a": [1, 2]}', "x", "application/json"),
        (b'[{"id": 1, "name": "trunc', "x", "application/json"),
        (b"\xef\xbb\xbf[1, 2]", "x", "application/json"),
        (b"a,b\n1,2\n", "export.CSV", "text/csv"),
        (b"a,b\n1,2\n", "export.txt", "text/plain"),
        ("naïve text, cut mid-char: é".encode()[:-1], "x", "text/plain"),
        (b"[INFO] started", "log", "text/plain"),
        (b"<html><script>alert(1)</script>", "x.html", "text/plain"),
        (b"text\x00with nul", "x", "application/octet-stream"),
        (b"\xff\xfe\xfd not utf-8", "x", "application/octet-stream"),
    ],
)
def test_sniff_content_type_reads_magic_numbers_then_json_then_text(
    head: bytes, name: str, expected: str
) -> None:
    assert sniff_content_type(head, name) == expected


def test_open_store_picks_s3_when_an_endpoint_is_set_else_the_directory(tmp_path: Path) -> None:
    def from_settings(s3_endpoint: str) -> ArtifactStore:
        return open_store(
            artifact_dir=str(tmp_path),
            s3_endpoint=s3_endpoint,
            s3_access_key="ACCESS-KEY",
            s3_secret_key="SECRET-KEY",
            s3_bucket="artifacts",
            s3_secure=False,
        )

    s3 = from_settings("http://127.0.0.1:9000")
    files = from_settings("")

    assert isinstance(s3, S3Store)
    assert (s3.endpoint, s3.bucket) == ("127.0.0.1:9000", "artifacts")
    assert "KEY" not in repr(s3)
    assert isinstance(files, FilesystemStore)
    assert files.root == tmp_path


async def test_check_says_what_is_wrong_when_the_store_is_not_ready(
    tmp_path: Path, s3_endpoint: str
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    missing_bucket = S3Store(s3_endpoint, "testing", "testing", "never-made", secure=False)
    nobody = S3Store(f"127.0.0.1:{closed_port}", "testing", "testing", "b-1", secure=False)

    assert "does not exist" in await FilesystemStore(tmp_path / "nope").check()
    assert "does not exist" in await missing_bucket.check()
    assert (await nobody.check()).startswith(f"S3 at 127.0.0.1:{closed_port}")
    with pytest.raises(StoreUnavailable):
        await nobody.stat("k")
