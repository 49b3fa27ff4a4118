"""Retention per kind: the sweeper removes an expired artifact's object and row together, with a
driven clock, against real PostgreSQL and a real store."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from runwright_artifact.settings import ArtifactSettings
from runwright_artifact.sweeper import sweep
from runwright_stack.stack import Stack
from runwright_storage import FilesystemStore
from support.database import private_database

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "artifact", max_size=30) as db:
        yield db


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def add(pool: asyncpg.Pool, store: FilesystemStore, kind: str) -> tuple[uuid.UUID, str]:
    artifact_id, job_id = uuid.uuid4(), uuid.uuid4()
    key = f"jobs/{job_id}/{artifact_id}"
    stored = await store.put(key, chunks(kind.encode() * 100), content_type="text/plain")
    days = ArtifactSettings().retention_days(kind)
    await pool.execute(
        "INSERT INTO artifact.artifacts (id, job_id, kind, name, size, content_type, sha256, "
        "storage_key, created_at, expires_at) VALUES ($1, $2, $3, 'f', $4, 'text/plain', $5, "
        "$6, $7, $8)",
        artifact_id,
        job_id,
        kind,
        stored.size,
        stored.sha256,
        key,
        NOW,
        NOW + timedelta(days=days),
    )
    return artifact_id, key


async def remaining(pool: asyncpg.Pool) -> set[str]:
    return {r["kind"] for r in await pool.fetch("SELECT kind FROM artifact.artifacts")}


async def test_each_kind_expires_after_its_own_retention(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    store = FilesystemStore(tmp_path)
    keys = {
        kind: (await add(pool, store, kind))[1]
        for kind in ("screenshot", "video", "export", "download")
    }
    assert await sweep(pool, store, NOW + timedelta(days=6, hours=23)) == 0
    assert await sweep(pool, store, NOW + timedelta(days=7, minutes=1)) == 1
    assert await remaining(pool) == {"screenshot", "export", "download"}
    assert await store.stat(keys["video"]) is None
    assert await store.stat(keys["screenshot"]) is not None
    assert await sweep(pool, store, NOW + timedelta(days=31)) == 1
    assert await remaining(pool) == {"export", "download"}
    assert await sweep(pool, store, NOW + timedelta(days=91)) == 2
    assert await remaining(pool) == set()
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_a_sweep_after_a_crash_between_object_and_row_finishes_the_job(
    pool: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    store = FilesystemStore(tmp_path)
    _, key = await add(pool, store, "screenshot")
    await store.delete(key)  # the object went; the crash came before the row did
    assert await sweep(pool, store, NOW + timedelta(days=31)) == 1
    assert await remaining(pool) == set()
