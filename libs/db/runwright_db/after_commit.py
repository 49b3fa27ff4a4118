"""Work that must happen only once a transaction has committed (a metric counted once per applied
transition, say): ``after_commit(conn, callback)``.

Pools made by :func:`runwright_db.create_pool` hand out :class:`HookedConnection`, whose
``transaction()`` runs the callbacks registered inside it when the outermost block commits, and
drops them when it (or the savepoint they were registered in) rolls back. Outside a transaction
a statement has committed when it returns, so the callback runs at once.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction
from runwright_common.logging import get_logger

log = get_logger("runwright.db")

Callback = Callable[[], None]


class HookedConnection(asyncpg.Connection):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.after_commit: list[Callback] = []

    async def execute(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(query, super().execute(query, *args, **kwargs))

    async def executemany(self, command: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(command, super().executemany(command, *args, **kwargs))

    async def fetch(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(query, super().fetch(query, *args, **kwargs))

    async def fetchrow(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(query, super().fetchrow(query, *args, **kwargs))

    async def fetchval(self, query: str, *args: Any, **kwargs: Any) -> Any:
        return await self._run(query, super().fetchval(query, *args, **kwargs))

    def finished(self, query: str, started: int, failed: Exception | None) -> None:
        """Called as each statement ends (``started``: ``time.time_ns()`` as it began); the
        traced connection makes a span of a slow or failed one (``runwright_db.tracing``)."""

    async def _run(self, query: str, statement: Awaitable[Any]) -> Any:
        """The statement, timed for :meth:`finished` in the same frame (one await more per
        statement was a measurable share of what tracing cost), and a statement on a connection
        PostgreSQL ended while it sat idle (a restart, an administrator) failing as a lost
        connection, as one ended mid-statement does: a ``PostgresConnectionError`` that every
        caller treats as "the database is away, retry" (503 at the gateway). asyncpg raises
        ``InternalClientError`` ("another operation is in progress") when the server's goodbye
        arrived before the socket closed, and ``InterfaceError`` once it closed; either way
        nothing was sent, and the connection is dropped so the pool makes a new one."""
        started = time.time_ns()
        try:
            result = await statement
        except Exception as exc:
            self.finished(query, started, exc)
            if isinstance(exc, asyncpg.exceptions.InternalClientError):
                self.terminate()
            elif not isinstance(exc, asyncpg.InterfaceError) or not self.is_closed():
                raise
            raise asyncpg.ConnectionDoesNotExistError(f"the connection was lost: {exc}") from exc
        self.finished(query, started, None)
        return result

    def transaction(
        self, *, isolation: str | None = None, readonly: bool = False, deferrable: bool = False
    ) -> Transaction:
        self._check_open()
        return _HookedTransaction(self, isolation, readonly, deferrable)


class _HookedTransaction(Transaction):  # type: ignore[misc]
    __slots__ = ("_mark",)

    async def __aenter__(self) -> None:
        await super().__aenter__()
        self._mark = len(self._connection.after_commit)

    async def __aexit__(self, extype: Any, ex: Any, tb: Any) -> None:
        pending: list[Callback] = self._connection.after_commit
        committed = False
        try:
            if extype is not None and self._connection.is_closed():
                # The server ended the connection, and the transaction with it: nothing is left
                # to roll back, and the loss is the error to raise (a PostgresConnectionError,
                # "retry later"), not asyncpg's complaint that the connection is closed.
                return
            await super().__aexit__(extype, ex, tb)
            committed = extype is None
        finally:
            if self._nested:
                if not committed:
                    del pending[self._mark :]  # the savepoint rolled back: so did its work
            else:
                ready, pending[:] = list(pending), []
                if committed:
                    for callback in ready:
                        _run(callback)


def after_commit(conn: Any, callback: Callback) -> None:
    """Run ``callback`` once the transaction ``conn`` is in commits (at once outside one); never
    when it rolls back. A connection not made by ``create_pool`` runs it at once."""
    raw = getattr(conn, "_con", conn)  # a pool's connection proxy
    if isinstance(raw, HookedConnection) and raw.is_in_transaction():
        raw.after_commit.append(callback)
    else:
        _run(callback)


def _run(callback: Callback) -> None:
    try:
        callback()
    except Exception as exc:  # what was committed stays committed; only the callback failed
        log.warning("after-commit callback failed", error=repr(exc))
