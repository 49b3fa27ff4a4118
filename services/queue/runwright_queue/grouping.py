"""Group commit: requests that arrive while one group is being written go together in the next.

An idle queue writes a request at once (a group of one); under a burst every transaction carries
all the requests that waited for it, so the commits, round trips and per-statement work are shared.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Grouped(Generic[T, R]):
    """``await grouped(item)`` answers ``apply([..., item, ...])``'s answer for that item.

    ``apply`` takes a list and answers one result per item, in order. A group that raises is
    tried again item by item, so one bad request fails alone."""

    def __init__(self, apply: Callable[[list[T]], Awaitable[list[R]]], *, most: int = 64) -> None:
        self._apply, self._most = apply, most
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.groups = 0
        self.items = 0

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._waiting:
            group = self._waiting[: self._most]
            del self._waiting[: self._most]
            self.groups += 1
            self.items += len(group)
            try:
                results = await self._apply([item for item, _ in group])
            except Exception as exc:
                if len(group) == 1:
                    if not group[0][1].done():
                        group[0][1].set_exception(exc)
                    continue
                for item, future in group:
                    await self._alone(item, future)
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _alone(self, item: T, future: asyncio.Future[R]) -> None:
        try:
            (result,) = await self._apply([item])
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
            return
        if not future.done():
            future.set_result(result)
