"""A pool whose connections, once PostgreSQL ended them while a caller held one, fail as lost.

asyncpg detaches a held connection from its proxy the moment the socket closes (a restart, an
administrator's ``pg_terminate_backend``), and every later call on that proxy raises
``InterfaceError`` ("released back to the pool"), which the services took for a bug (a 500 at the
gateway). Whether the goodbye had closed the socket before the caller's next statement is a race,
so the same loss came out either as a retryable ``PostgresConnectionError`` or as that bug.

Here a proxy carries its state in its class: `HeldProxy` while its caller holds it, asyncpg's own
class once the caller released it. A call on a held proxy with no connection is therefore a loss
(``ConnectionDoesNotExistError``, "the database is away, retry"); a call after the caller's own
release stays asyncpg's ``InterfaceError``, a programming error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy


def _lost_when_detached(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def call(self: PoolConnectionProxy, *args: Any, **kwargs: Any) -> Any:
        if self._con is None:
            raise asyncpg.ConnectionDoesNotExistError(
                f"the connection was lost while held (Connection.{name}())"
            )
        return method(self, *args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = method.__doc__
    return call


class HeldProxy(PoolConnectionProxy):  # type: ignore[misc]
    """A pool connection its caller still holds (the same slots as asyncpg's, so a proxy changes
    between the two classes in place)."""

    __slots__ = ()


for _name, _method in vars(PoolConnectionProxy).items():
    # every Connection method asyncpg's proxy forwards (each checks for a detached connection)
    if callable(_method) and getattr(_method, "__wrapped__", None) is not None:
        setattr(HeldProxy, _name, _lost_when_detached(_name, _method))


def _is_closed(self: PoolConnectionProxy) -> bool:
    return self._con is None or bool(self._con.is_closed())


HeldProxy.is_closed = _is_closed  # a lost connection is closed, not an error to ask about


class Pool(asyncpg.Pool):  # type: ignore[misc]
    """asyncpg's pool, handing out `HeldProxy` until the caller releases it."""

    __slots__ = ()

    async def _acquire(self, timeout: float | None) -> PoolConnectionProxy:
        proxy = await super()._acquire(timeout)
        proxy.__class__ = HeldProxy
        return proxy

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        if type(connection) is HeldProxy:  # asyncpg releases only its own class
            connection.__class__ = PoolConnectionProxy
        await super().release(connection, timeout=timeout)
