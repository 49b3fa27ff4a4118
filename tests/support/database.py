"""A private database on the stack's real PostgreSQL, migrated for the services a test drives."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from runwright_db import create_pool, migrate


@asynccontextmanager
async def private_database(
    server_dsn: str, *services: str, max_size: int = 30
) -> AsyncIterator[asyncpg.Pool]:
    """Create a fresh database, run ``services``' migrations, drop it afterwards."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(server_dsn)
    await admin.execute(f"CREATE DATABASE {name}")
    pool = await create_pool(server_dsn.rsplit("/", 1)[0] + f"/{name}", max_size=max_size)
    try:
        for service in services:
            await migrate(pool, service, f"runwright_{service}.migrations")
        yield pool
    finally:
        await pool.close()
        await admin.execute(f"DROP DATABASE {name}")
        await admin.close()
