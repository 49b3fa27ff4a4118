"""The async client: ``async with AsyncRunwright(api, token) as rw: await rw.get_job(id)``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
from runwright_proto.api.approvals import ApprovalView
from runwright_proto.api.jobs import JobPage, JobRequest, JobView
from runwright_proto.api.schedules import SchedulePage, ScheduleView
from runwright_proto.control import Action
from runwright_proto.events import JobEvent

from runwright_client import calls
from runwright_client.errors import GatewayUnreachable, api_error
from runwright_client.sse import EventCursor

T = TypeVar("T")
STREAM_READ_TIMEOUT_S = 60.0
"""The gateway sends a keep-alive every 15 s; this long without a byte means a dead connection."""
MAX_FAILURES = 8
"""Reconnects in a row, without a new event, before following gives up."""


def http_settings(api: str, token: str, timeout: float) -> dict[str, Any]:
    return {
        "base_url": api,
        "headers": {"Authorization": f"Bearer {token}", "User-Agent": "runwright-client"},
        "timeout": timeout,
    }


class AsyncRunwright:
    def __init__(
        self, api: str, token: str, *, timeout: float = 30.0, http: httpx.AsyncClient | None = None
    ) -> None:
        self.http = http or httpx.AsyncClient(**http_settings(api, token, timeout))

    async def __aenter__(self) -> AsyncRunwright:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def send(self, call: calls.Call[T]) -> T:
        try:
            response = await self.http.send(call.request(self.http))
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"no answer from {self.http.base_url}: {exc!r}") from exc
        return call.decode(response)

    async def submit(self, request: JobRequest) -> JobView:
        return await self.send(calls.submit(request))

    async def list_jobs(self, **filters: Any) -> JobPage:
        """``status``, ``limit``, ``cursor``, ``trigger``, ``q``: as ``GET /api/v1/jobs``."""
        return await self.send(calls.list_jobs(**filters))

    async def get_job(self, job_id: str) -> JobView:
        return await self.send(calls.get_job(job_id))

    async def act(
        self, job_id: str, action: Action, *, reason: str | None = None, version: int | None = None
    ) -> JobView:
        return await self.send(calls.act(job_id, action, reason=reason, version=version))

    async def approval(self, job_id: str) -> ApprovalView:
        """The job's approval for the caller. An ``act(id, "approve")`` that was counted but not
        yet enough (``202``) answers a :class:`JobView` still ``waiting_for_approval`` whose
        ``approvals`` says how many are given and required."""
        return await self.send(calls.approval(job_id))

    async def list_schedules(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> SchedulePage:
        return await self.send(calls.list_schedules(limit=limit, cursor=cursor))

    async def get_schedule(self, schedule_id: str) -> ScheduleView:
        return await self.send(calls.get_schedule(schedule_id))

    async def follow(self, job_id: str, *, after: int = 0) -> AsyncIterator[JobEvent]:
        """The job's events after ``after``, live, until its terminal status event; a dropped
        connection is resumed with ``Last-Event-ID``. Ends at once for a job already over."""
        cursor, failures = EventCursor(last_id=after), 0
        while not cursor.done:
            seen = cursor.last_id
            lost: Exception | None = None
            try:
                async for event in self._stream(job_id, cursor):
                    yield event
            except httpx.TransportError as exc:
                lost = exc
            failures = 0 if cursor.last_id > seen else failures + 1
            if not cursor.done:
                if failures >= MAX_FAILURES:
                    raise GatewayUnreachable(f"lost the event stream of job {job_id}") from lost
                await asyncio.sleep(cursor.delay_s(failures))

    async def _stream(self, job_id: str, cursor: EventCursor) -> AsyncIterator[JobEvent]:
        cursor.restart()
        timeout = httpx.Timeout(self.http.timeout.connect, read=STREAM_READ_TIMEOUT_S)
        path = calls.events_path(job_id)
        async with self.http.stream("GET", path, headers=cursor.headers(), timeout=timeout) as r:
            if r.status_code == 204:
                cursor.done = True
                return
            if r.is_error:
                await r.aread()
                raise api_error(r)
            async for line in r.aiter_lines():
                event = cursor.feed(line)
                if event is not None:
                    yield event
                if cursor.done:
                    return
