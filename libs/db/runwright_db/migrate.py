"""Per-service SQL migrations: ``NNN_name.sql`` files applied in order, once, under a lock.

Each service owns a schema of its own name and migrates it at start-up; replicas serialise on an
advisory lock. The ledger of what was applied lives in that schema
(``<schema>.runwright_migrations``) so a service's role needs rights on nothing else. After
migrating, the owner grants the readers ``runwright_db.roles.READS`` names what they may read.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import asyncpg

from runwright_db.roles import publish_reads


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


class SchemaMissing(RuntimeError):
    """The service's schema does not exist and its role may not create it."""


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


async def migrate(pool: asyncpg.Pool, service: str, package: str) -> list[str]:
    """Apply the ``*.sql`` files of ``package`` (a package of migration files) not yet applied."""
    files = sorted(
        (entry.name, entry.read_text())
        for entry in resources.files(package).iterdir()
        if entry.name.endswith(".sql")
    )
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(service))
        try:
            await _ensure_schema(conn, service)
            await conn.execute(ledger_sql(service))
            ledger = f"{service}.runwright_migrations"
            if not await conn.fetchval(f"SELECT EXISTS (SELECT FROM {ledger})"):
                await conn.execute(adopt_ledger_sql(service))
            done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {ledger}")}
            for name, sql in files:
                version = int(name.split("_", 1)[0])
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        f"INSERT INTO {ledger} (version, name) VALUES ($1, $2)",
                        version,
                        name,
                    )
                applied.append(name)
            await publish_reads(conn, service)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(service))
    return applied
