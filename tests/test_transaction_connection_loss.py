"""Found by the chaos soak: when PostgreSQL ends a connection in the middle of a transaction (a
restart, an administrator), the error that escapes the ``transaction()`` block is that loss, a
``PostgresConnectionError`` the services and the gateway treat as "the database is down, retry"
(a 503), not asyncpg's "cannot call __aexit__(): the underlying connection is closed", an
``InterfaceError`` that the gateway answered with a 500."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from runwright_stack.stack import Stack
from support.database import private_database

pytestmark = pytest.mark.e2e


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, max_size=2) as db:
        yield db


async def end_when_busy(admin: asyncpg.Connection, pid: int) -> None:
    """End the backend ``pid`` once it is running a statement."""
    query = "SELECT state = 'active' FROM pg_stat_activity WHERE pid = $1"
    while True:
        if await admin.fetchval(query, pid):
            break
        await asyncio.sleep(0.05)
    await admin.execute("SELECT pg_terminate_backend($1)", pid)


async def read_while_ended(pool: asyncpg.Pool, admin: asyncpg.Connection) -> None:
    """A read-only transaction whose connection an administrator ends in mid-statement."""
    async with pool.acquire() as conn, conn.transaction(readonly=True):
        pid = await conn.fetchval("SELECT pg_backend_pid()")
        ending = asyncio.create_task(end_when_busy(admin, pid))
        try:
            await conn.fetchval("SELECT pg_sleep(60)")
        finally:
            await ending


async def test_a_connection_ended_inside_a_transaction_raises_the_loss_itself(
    pool: asyncpg.Pool, stack: Stack
) -> None:
    admin = await asyncpg.connect(stack.database_url)
    try:
        with pytest.raises(asyncpg.PostgresError) as raised:
            await read_while_ended(pool, admin)
    finally:
        await admin.close()
    assert isinstance(
        raised.value, asyncpg.PostgresConnectionError | asyncpg.OperatorInterventionError
    ), repr(raised.value)
    assert await pool.fetchval("SELECT 2") == 2, "the pool connects again"


async def test_a_statement_on_a_connection_the_server_ended_while_idle_is_a_lost_connection(
    pool: asyncpg.Pool, stack: Stack
) -> None:
    """What a PostgreSQL restart does to every idle connection in the pools: the next statement
    on one fails as a lost connection (retry), not as asyncpg's InternalClientError ("another
    operation is in progress"), which the gateway answered with a 500 and which ended the
    approval service's webhook dispatcher."""
    admin = await asyncpg.connect(stack.database_url)
    try:
        for _ in range(5):  # the goodbye may or may not have reached the client: both ways
            async with pool.acquire() as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                await admin.execute("SELECT pg_terminate_backend($1)", pid)
                with pytest.raises(asyncpg.PostgresConnectionError):
                    await conn.fetchval("SELECT 1")
            assert await pool.fetchval("SELECT 2") == 2, "the pool connects again"
    finally:
        await admin.close()


async def test_a_statement_on_a_held_connection_whose_socket_closed_is_a_lost_connection(
    pool: asyncpg.Pool, stack: Stack
) -> None:
    """The same loss once the socket has closed under the caller: asyncpg has then handed the
    connection back to the pool behind the caller's back, and its proxy answered every call with
    an ``InterfaceError`` ("released back to the pool"), a bug to the services (a 500). A call
    after the caller's own release is still that error."""
    admin = await asyncpg.connect(stack.database_url)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            for _ in range(100):
                if conn.is_closed():
                    break
                await asyncio.sleep(0.05)
            assert conn.is_closed()
            with pytest.raises(asyncpg.PostgresConnectionError):
                await conn.fetchval("SELECT 1")
            with pytest.raises(asyncpg.PostgresConnectionError):
                async with conn.transaction():
                    pass
        assert await pool.fetchval("SELECT 2") == 2, "the pool connects again"
        async with pool.acquire() as conn:
            pass
        with pytest.raises(asyncpg.InterfaceError, match="released back to the pool"):
            await conn.fetchval("SELECT 1")
    finally:
        await admin.close()
