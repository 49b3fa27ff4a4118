"""Work that must happen only once a transaction has committed (a metric counted once per applied
transition, say): ``after_commit(conn, callback)``.

Pools made by :func:`runwright_db.create_pool` hand out :class:`HookedConnection`, whose
``transaction()`` runs the callbacks registered inside it when the outermost block commits, and
drops them when it (or the savepoint they were registered in) rolls back. Outside a transaction
a statement has committed when it returns, so the callback runs at once.
"""

from __future__ import annotations

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

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return await self._lost_when_ended(super().execute(*args, **kwargs))

    async def executemany(self, *args: Any, **kwargs: Any) -> Any:
        return await self._lost_when_ended(super().executemany(*args, **kwargs))

    async def fetch(self, *args: Any, **kwargs: Any) -> Any:
        return await self._lost_when_ended(super().fetch(*args, **kwargs))

    async def fetchrow(self, *args: Any, **kwargs: Any) -> Any:
        return await self._lost_when_ended(super().fetchrow(*args, **kwargs))

    async def fetchval(self, *args: Any, **kwargs: Any) -> Any:
        return await self._lost_when_ended(super().fetchval(*args, **kwargs))

    async def _lost_when_ended(self, statement: Awaitable[Any]) -> Any:
        """A statement on a connection PostgreSQL ended while it sat idle (a restart, an
        administrator) fails as a lost connection, as one ended mid-statement does: a
        ``PostgresConnectionError`` that every caller treats as "the database is away, retry"
        (503 at the gateway). asyncpg raises ``InternalClientError`` ("another operation is in
        progress") when the server's goodbye arrived before the socket closed, and
        ``InterfaceError`` once it closed; either way nothing was sent, and the connection is
        dropped so the pool makes a new one."""
        try:
            return await statement
        except asyncpg.exceptions.InternalClientError as exc:
            self.terminate()
            raise asyncpg.ConnectionDoesNotExistError(f"the connection was lost: {exc}") from exc
        except asyncpg.InterfaceError as exc:
            if not self.is_closed():
                raise
            raise asyncpg.ConnectionDoesNotExistError(f"the connection was lost: {exc}") from exc

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
