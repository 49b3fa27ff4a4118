"""Per-service SQL migrations: ``NNN_name.sql`` files applied in order, once, under a lock.

Each service owns a schema of its own name and migrates it at start-up; replicas serialise on an
advisory lock. The ledger of what was applied lives in that schema
(``<schema>.runwright_migrations``) so a service's role needs rights on nothing else. After
migrating, the owner grants the readers ``runwright_db.roles.READS`` names what they may read.

The ledger keeps each file's sha256 (``checksum``): a migration whose text changed after it was
applied is refused, naming the file (a ledger from before checksums adopts the files' current
ones once). :func:`check` is the read-only twin for a service started with
``RUNWRIGHT_MIGRATE_ON_START=false``: the schema must be exactly at the versions it knows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

import asyncpg
from runwright_common.errors import StartupRefused
from runwright_common.logging import get_logger

from runwright_db.roles import publish_reads

log = get_logger("runwright.migrate")


def ledger_sql(schema: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {schema}.runwright_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


def adopt_ledger_sql(schema: str) -> str:
    """Carry over what an earlier release recorded in the shared ``public.runwright_migrations``
    (when this login may read it)."""
    return f"""DO $$ BEGIN
    IF to_regclass('public.runwright_migrations') IS NOT NULL
       AND has_table_privilege('public.runwright_migrations', 'SELECT') THEN
        INSERT INTO {schema}.runwright_migrations (version, name, applied_at)
            SELECT version, name, applied_at FROM public.runwright_migrations
            WHERE service = '{schema}' ON CONFLICT DO NOTHING;
    END IF;
END $$"""


class SchemaMissing(StartupRefused):
    """The service's schema does not exist and its role may not create it."""


class MigrationChanged(StartupRefused):
    """A migration already applied has different text now: fix the file, never edit history."""


class SchemaMismatch(StartupRefused):
    """The database is not at the versions this release knows (checked without migrating)."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def migrations(package: str) -> list[Migration]:
    """The ``NNN_name.sql`` files of ``package``, in order."""
    texts = sorted(
        (entry.name, entry.read_text())
        for entry in resources.files(package).iterdir()
        if entry.name.endswith(".sql")
    )
    return [Migration(int(name.split("_", 1)[0]), name, text) for name, text in texts]


def _lock_key(service: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"migrate:{service}".encode()).digest()[:8], "big", signed=True
    )


async def _ensure_schema(conn: asyncpg.Connection, schema: str) -> None:
    if await conn.fetchval("SELECT to_regnamespace($1)", schema) is not None:
        return
    try:
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    except asyncpg.InsufficientPrivilegeError as e:
        user = await conn.fetchval("SELECT current_user")
        raise SchemaMissing(
            f"schema {schema!r} does not exist and {user!r} may not create it: run "
            "deploy/postgres/roles.sql (it makes the roles and their schemas) first"
        ) from e


async def _ensure_checksums(conn: asyncpg.Connection, schema: str) -> None:
    """A ledger from before checksums gains the column (empty until adopted)."""
    if not await conn.fetchval(
        "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = $1 "
        "AND table_name = 'runwright_migrations' AND column_name = 'checksum')",
        schema,
    ):
        await conn.execute(f"ALTER TABLE {schema}.runwright_migrations ADD COLUMN checksum text")


def _changed(package: str, files: list[Migration], ledger: dict[int, str | None]) -> list[str]:
    return [
        f"{package}/{m.name} changed after it was applied (recorded sha256 {ledger[m.version]}, "
        f"the file's is {m.checksum})"
        for m in files
        if ledger.get(m.version) is not None and ledger[m.version] != m.checksum
    ]


async def migrate(pool: asyncpg.Pool, service: str, package: str) -> list[str]:
    """Apply the ``*.sql`` files of ``package`` (a package of migration files) not yet applied.

    Raises :class:`MigrationChanged` (and applies nothing) when an applied file's text changed.
    Versions in the ledger that this release does not know are left alone (a newer release
    applied them; :func:`check` is the strict one)."""
    files = migrations(package)
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(service))
        try:
            await _ensure_schema(conn, service)
            await conn.execute(ledger_sql(service))
            ledger = f"{service}.runwright_migrations"
            if not await conn.fetchval(f"SELECT EXISTS (SELECT FROM {ledger})"):
                await conn.execute(adopt_ledger_sql(service))
            await _ensure_checksums(conn, service)
            done: dict[int, str | None] = {
                r["version"]: r["checksum"]
                for r in await conn.fetch(f"SELECT version, checksum FROM {ledger}")
            }
            if changed := _changed(package, files, done):
                log.error("migration changed after it was applied", schema=service, files=changed)
                raise MigrationChanged(
                    f"{service}: refusing to migrate: " + "; ".join(changed) + ". Restore the "
                    "file's applied text and put the change in a new migration."
                )
            adopt = [
                (m.checksum, m.version) for m in files if m.version in done and not done[m.version]
            ]
            if adopt:
                await conn.executemany(
                    f"UPDATE {ledger} SET checksum = $1 WHERE version = $2 AND checksum IS NULL",
                    adopt,
                )
            for m in files:
                if m.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(m.sql)
                    await conn.execute(
                        f"INSERT INTO {ledger} (version, name, checksum) VALUES ($1, $2, $3)",
                        m.version,
                        m.name,
                        m.checksum,
                    )
                applied.append(m.name)
            await publish_reads(conn, service)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(service))
    return applied


async def check(pool: asyncpg.Pool, service: str, package: str) -> None:
    """Without changing anything: the schema is exactly at this release's migrations, or
    :class:`SchemaMismatch` says which versions are missing, unknown or changed."""
    files = migrations(package)
    async with pool.acquire() as conn:
        ledger: dict[int, str | None] = {}
        if await conn.fetchval("SELECT to_regclass($1)", f"{service}.runwright_migrations"):
            has_checksum = await conn.fetchval(
                "SELECT EXISTS (SELECT FROM information_schema.columns WHERE table_schema = $1 "
                "AND table_name = 'runwright_migrations' AND column_name = 'checksum')",
                service,
            )
            column = "checksum" if has_checksum else "NULL::text AS checksum"
            ledger = {
                r["version"]: r["checksum"]
                for r in await conn.fetch(
                    f"SELECT version, {column} FROM {service}.runwright_migrations"
                )
            }
    known = {m.version: m.name for m in files}
    problems = []
    if missing := [known[v] for v in sorted(set(known) - set(ledger))]:
        problems.append(f"not applied: {', '.join(missing)} (run `runwright migrate`)")
    if unknown := sorted(set(ledger) - set(known)):
        problems.append(
            f"applied by a newer release, unknown to this one: version(s) "
            f"{', '.join(f'{v:03d}' for v in unknown)} (run the release that migrated it)"
        )
    problems += _changed(package, files, ledger)
    if problems:
        log.error("schema not at this release's migrations", schema=service, problems=problems)
        raise SchemaMismatch(
            f"{service}: schema not at this release's migrations and "
            "RUNWRIGHT_MIGRATE_ON_START is false: " + "; ".join(problems)
        )


async def prepare_schema(
    pool: asyncpg.Pool, service: str, package: str, migrate_on_start: bool = True
) -> None:
    """At a service's start: migrate (``RUNWRIGHT_MIGRATE_ON_START``, the default), or check the
    schema is exactly at the versions this release knows and refuse to start otherwise."""
    if migrate_on_start:
        await migrate(pool, service, package)
    else:
        await check(pool, service, package)
