"""asyncpg pools with JSON/JSONB decoded by msgspec."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg
import msgspec

from runwright_db.held import Pool
from runwright_db.tracing import connection_class

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


async def _init(conn: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            schema="pg_catalog",
            encoder=lambda v: _encode(v).decode(),
            decoder=_decode,
            format="text",
        )


async def wait_for_database(dsn: str, timeout: float = 30.0) -> None:
    """Retry until PostgreSQL accepts connections (it may still be starting)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            await conn.close()
            return
        except (OSError, asyncpg.CannotConnectNowError, asyncpg.PostgresConnectionError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    **kw: Any,
) -> asyncpg.Pool:
    await wait_for_database(dsn)
    # after_commit works on its connections; with tracing on, slow statements are spans
    kw.setdefault("connection_class", connection_class())
    # asyncpg.create_pool's defaults, on the pool whose held connections fail as lost (held.py)
    kw.setdefault("max_queries", 50_000)
    kw.setdefault("max_inactive_connection_lifetime", 300.0)
    kw.setdefault("record_class", asyncpg.Record)
    pool = Pool(dsn, min_size=min_size, max_size=max_size, init=_init, loop=None, **kw)
    await pool
    return pool
