"""Per-service SQL migrations: ``NNN_name.sql`` files applied in order, once, under a lock.

Each service owns a schema and migrates it at start-up; replicas serialise on an advisory lock.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import asyncpg

_LEDGER = """
CREATE TABLE IF NOT EXISTS public.runwright_migrations (
    service    text        NOT NULL,
    version    integer     NOT NULL,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (service, version)
)
"""


def _lock_key(service: str) -> int:
    return int.from_bytes(
        hashlib.sha256(f"migrate:{service}".encode()).digest()[:8], "big", signed=True
    )


async def migrate(pool: asyncpg.Pool, service: str, package: str) -> list[str]:
    """Apply the ``*.sql`` files of ``package`` (a package of migration files) not yet applied."""
    files = sorted(
        (entry.name, entry.read_text())
        for entry in resources.files(package).iterdir()
        if entry.name.endswith(".sql")
    )
    applied: list[str] = []
    async with pool.acquire() as conn:
        async with conn.transaction():
            # Creating the shared ledger races between services: serialise that one statement.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _lock_key("ledger"))
            await conn.execute(_LEDGER)
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(service))
        try:
            done = {
                r["version"]
                for r in await conn.fetch(
                    "SELECT version FROM public.runwright_migrations WHERE service = $1", service
                )
            }
            for name, sql in files:
                version = int(name.split("_", 1)[0])
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO public.runwright_migrations (service, version, name) "
                        "VALUES ($1, $2, $3)",
                        service,
                        version,
                        name,
                    )
                applied.append(name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(service))
    return applied
