"""The blocking client, for scripts and tests: ``with Runwright(api, token) as rw: ...``.

The same calls as :class:`~runwright_client.aio.AsyncRunwright`, sent with ``httpx.Client``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, TypeVar

import httpx
from runwright_proto.api.approvals import ApprovalView
from runwright_proto.api.jobs import JobPage, JobRequest, JobView
from runwright_proto.api.schedules import SchedulePage, ScheduleView
from runwright_proto.control import Action
from runwright_proto.events import JobEvent

from runwright_client import calls
from runwright_client.aio import MAX_FAILURES, STREAM_READ_TIMEOUT_S, http_settings
from runwright_client.errors import GatewayUnreachable, api_error
from runwright_client.sse import EventCursor

T = TypeVar("T")


class Runwright:
    def __init__(
        self, api: str, token: str, *, timeout: float = 30.0, http: httpx.Client | None = None
    ) -> None:
        self.http = http or httpx.Client(**http_settings(api, token, timeout))

    def __enter__(self) -> Runwright:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def send(self, call: calls.Call[T]) -> T:
        try:
            response = self.http.send(call.request(self.http))
        except httpx.TransportError as exc:
            raise GatewayUnreachable(f"no answer from {self.http.base_url}: {exc!r}") from exc
        return call.decode(response)

    def submit(self, request: JobRequest) -> JobView:
        return self.send(calls.submit(request))

    def list_jobs(self, **filters: Any) -> JobPage:
        return self.send(calls.list_jobs(**filters))

    def get_job(self, job_id: str) -> JobView:
        return self.send(calls.get_job(job_id))

    def act(
        self, job_id: str, action: Action, *, reason: str | None = None, version: int | None = None
    ) -> JobView:
        return self.send(calls.act(job_id, action, reason=reason, version=version))

    def approval(self, job_id: str) -> ApprovalView:
        """The job's approval for the caller. An ``act(id, "approve")`` that was counted but not
        yet enough (``202``) answers a :class:`JobView` still ``waiting_for_approval`` whose
        ``approvals`` says how many are given and required."""
        return self.send(calls.approval(job_id))

    def list_schedules(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> SchedulePage:
        return self.send(calls.list_schedules(limit=limit, cursor=cursor))

    def get_schedule(self, schedule_id: str) -> ScheduleView:
        return self.send(calls.get_schedule(schedule_id))

    def follow(self, job_id: str, *, after: int = 0) -> Iterator[JobEvent]:
        """As :meth:`AsyncRunwright.follow`: live events until the terminal one, resumed."""
        cursor, failures = EventCursor(last_id=after), 0
        while not cursor.done:
            seen = cursor.last_id
            lost: Exception | None = None
            try:
                yield from self._stream(job_id, cursor)
            except httpx.TransportError as exc:
                lost = exc
            failures = 0 if cursor.last_id > seen else failures + 1
            if not cursor.done:
                if failures >= MAX_FAILURES:
                    raise GatewayUnreachable(f"lost the event stream of job {job_id}") from lost
                time.sleep(cursor.delay_s(failures))

    def _stream(self, job_id: str, cursor: EventCursor) -> Iterator[JobEvent]:
        cursor.restart()
        timeout = httpx.Timeout(self.http.timeout.connect, read=STREAM_READ_TIMEOUT_S)
        path = calls.events_path(job_id)
        with self.http.stream("GET", path, headers=cursor.headers(), timeout=timeout) as r:
            if r.status_code == 204:
                cursor.done = True
                return
            if r.is_error:
                r.read()
                raise api_error(r)
            for line in r.iter_lines():
                event = cursor.feed(line)
                if event is not None:
                    yield event
                if cursor.done:
                    return
