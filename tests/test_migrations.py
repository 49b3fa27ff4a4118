"""Upgrades: ``runwright migrate`` applies every service's migrations once (a second run applies
nothing), a migration whose text changed after it was applied is refused by name, and a service
told not to migrate refuses to start on a schema it does not know, saying which versions."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from runwright_db.migrate import MigrationChanged, SchemaMismatch, check, migrate, migrations
from runwright_db.migrate_all import migrate_all
from runwright_db.roles import OWNERS
from runwright_stack.nats_server import NatsServer
from runwright_stack.ports import free_port
from runwright_stack.postgres import EmbeddedPostgres
from support.stack import new_data_dir


@pytest.fixture(scope="module")
def postgres() -> Iterator[EmbeddedPostgres]:
    data_dir = new_data_dir()
    server = EmbeddedPostgres(data_dir, data_dir / "logs", durable=False)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def dsn(postgres: EmbeddedPostgres) -> AsyncIterator[str]:
    name = f"migrate_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres.url)
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        yield postgres.url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


def runwright(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).parent / "runwright"
    return subprocess.run(
        [str(cli), *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


async def test_migrate_applies_every_service_once_and_records_checksums(dsn: str) -> None:
    first = runwright("migrate", env={"RUNWRIGHT_DATABASE_URL": dsn})
    assert first.returncode == 0, first.stderr
    for service in OWNERS:
        assert f"{service}: applied" in first.stderr
    second = runwright("migrate", env={"RUNWRIGHT_DATABASE_URL": dsn})
    assert second.returncode == 0, second.stderr
    assert "applied" not in second.stderr
    assert second.stderr.count("up to date") == len(OWNERS)
    conn = await asyncpg.connect(dsn)
    try:
        for service in OWNERS:
            recorded = {
                r["name"]: r["checksum"]
                for r in await conn.fetch(
                    f"SELECT name, checksum FROM {service}.runwright_migrations"
                )
            }
            files = migrations(f"runwright_{service}.migrations")
            assert recorded == {m.name: hashlib.sha256(m.sql.encode()).hexdigest() for m in files}
    finally:
        await conn.close()
    assert runwright("migrate", "--check", env={"RUNWRIGHT_DATABASE_URL": dsn}).returncode == 0


@pytest.fixture
def copied_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The scheduler's migrations copied into a package of their own, to edit."""
    import runwright_scheduler.migrations as original

    name = f"copied_{uuid.uuid4().hex[:8]}"
    shutil.copytree(Path(original.__file__).parent, tmp_path / name)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / name


async def test_an_applied_migration_whose_text_changed_is_refused_by_name(
    dsn: str, copied_package: Path
) -> None:
    package = copied_package.name
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        assert await migrate(pool, "scheduler", package)
        edited = copied_package / "002_schedules.sql"
        edited.write_text(edited.read_text() + "\n-- tidied up after release\n")
        with pytest.raises(
            MigrationChanged, match=re.escape(f"{package}/002_schedules.sql changed")
        ):
            await migrate(pool, "scheduler", package)
        edited.write_text(edited.read_text().replace("\n-- tidied up after release\n", ""))
        assert await migrate(pool, "scheduler", package) == [], "restored: accepted again"
    finally:
        await pool.close()


async def test_a_ledger_from_before_checksums_adopts_them_once(dsn: str) -> None:
    await migrate_all(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("ALTER TABLE queue.runwright_migrations DROP COLUMN checksum")
        assert (await migrate_all(dsn))["queue"] == []
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM queue.runwright_migrations WHERE checksum IS NULL"
            )
            == 0
        )
        # A checksum that no longer matches the file: the CLI refuses, naming it, exit 1.
        await conn.execute(
            "UPDATE queue.runwright_migrations SET checksum = 'abc' WHERE version = 1"
        )
    finally:
        await conn.close()
    refused = runwright("migrate", env={"RUNWRIGHT_DATABASE_URL": dsn})
    assert refused.returncode == 1
    said = " ".join(refused.stderr.split())
    assert "runwright_queue.migrations/001_jobs.sql changed after it was applied" in said


async def test_check_names_missing_and_unknown_versions(dsn: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    assert pool is not None
    try:
        with pytest.raises(
            SchemaMismatch, match=r"not applied: 001_schema\.sql, 002_schedules\.sql"
        ):
            await check(pool, "scheduler", "runwright_scheduler.migrations")
        await migrate(pool, "scheduler", "runwright_scheduler.migrations")
        await check(pool, "scheduler", "runwright_scheduler.migrations")
        await pool.execute(
            "INSERT INTO scheduler.runwright_migrations (version, name, checksum) "
            "VALUES (999, '999_from_a_newer_release.sql', 'x')"
        )
        with pytest.raises(SchemaMismatch, match=r"newer release.*999"):
            await check(pool, "scheduler", "runwright_scheduler.migrations")
    finally:
        await pool.close()


@pytest.fixture(scope="module")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("nats")
    server = NatsServer(root, root)
    server.start()
    yield server.url
    server.stop()


def start_service(service: str, dsn: str, nats_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "RUNWRIGHT_DATABASE_URL": dsn,
        "RUNWRIGHT_NATS_URL": nats_url,
        "RUNWRIGHT_MIGRATE_ON_START": "false",
        "RUNWRIGHT_LOG_FORMAT": "json",
        "RUNWRIGHT_ADMIN_TOKEN": "rw_test_token_for_a_gateway_that_must_not_start",
        "RUNWRIGHT_GATEWAY_PORT": str(free_port()),
    }
    return subprocess.run(
        [sys.executable, "-m", f"runwright_{service}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_service_that_does_not_migrate_refuses_a_schema_it_does_not_know(
    dsn: str, nats_url: str
) -> None:
    missing = await asyncio.to_thread(start_service, "scheduler", dsn, nats_url)
    assert missing.returncode == 3, missing.stderr
    assert "not applied: 001_schema.sql" in missing.stderr
    await migrate_all(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        for schema in ("scheduler", "gateway"):
            await conn.execute(
                f"INSERT INTO {schema}.runwright_migrations (version, name, checksum) "
                "VALUES (99, '099_from_a_newer_release.sql', 'x')"
            )
    finally:
        await conn.close()
    for service in ("scheduler", "gateway"):
        newer = await asyncio.to_thread(start_service, service, dsn, nats_url)
        assert newer.returncode == 3, newer.stderr
        said = " ".join(newer.stderr.split())
        assert "applied by a newer release, unknown to this one: version(s) 099" in said
        assert "RUNWRIGHT_MIGRATE_ON_START" in said
