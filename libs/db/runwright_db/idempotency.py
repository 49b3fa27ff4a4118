"""Idempotent consumers: record (consumer, message id) in the same transaction as the effect."""

from __future__ import annotations

import asyncpg


async def first_delivery(conn: asyncpg.Connection, table: str, consumer: str, msg_id: str) -> bool:
    """True the first time ``msg_id`` is seen by ``consumer``; False means "already done"."""
    row = await conn.fetchrow(
        f"INSERT INTO {table} (consumer, msg_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        msg_id,
    )
    return row is not None
