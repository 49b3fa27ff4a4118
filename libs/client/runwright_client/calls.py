"""Each API call as data (method, path, query, body, answer type), shared by both clients.

The async and the sync client only differ in how they send a :class:`Call`; building it and
decoding the answer happen here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec
from runwright_proto.api.approvals import ApprovalView
from runwright_proto.api.jobs import ActionRequest, JobPage, JobRequest, JobView
from runwright_proto.api.schedules import SchedulePage, ScheduleView
from runwright_proto.control import Action

from runwright_client.errors import api_error

T = TypeVar("T")
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    answer: type[T]
    params: dict[str, str | int] = field(default_factory=dict)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = {"Content-Type": "application/json", **self.headers} if self.body else {}
        return client.build_request(
            self.method, self.path, params=self.params, content=self.body, headers=headers
        )

    def decode(self, response: httpx.Response) -> T:
        if response.is_error:
            raise api_error(response)
        return msgspec.json.decode(response.content, type=self.answer)


def _segment(value: str) -> str:
    return quote(value, safe="")


def _query(**values: str | int | None) -> dict[str, str | int]:
    return {name: value for name, value in values.items() if value is not None}


def submit(request: JobRequest) -> Call[JobView]:
    return Call("POST", "/api/v1/jobs", JobView, body=_encode(request))


def list_jobs(
    *,
    status: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    trigger: str | None = None,
    q: str | None = None,
) -> Call[JobPage]:
    params = _query(status=status, limit=limit, cursor=cursor, trigger=trigger, q=q)
    return Call("GET", "/api/v1/jobs", JobPage, params=params)


def get_job(job_id: str) -> Call[JobView]:
    return Call("GET", f"/api/v1/jobs/{_segment(job_id)}", JobView)


def act(
    job_id: str, action: Action, *, reason: str | None = None, version: int | None = None
) -> Call[JobView]:
    """``version``: act only if the job is still at that version (``If-Match``)."""
    headers = {"If-Match": f'"{version}"'} if version is not None else {}
    return Call(
        "POST",
        f"/api/v1/jobs/{_segment(job_id)}/{action}",
        JobView,
        body=_encode(ActionRequest(reason=reason)),
        headers=headers,
    )


def approval(job_id: str) -> Call[ApprovalView]:
    """The job's approval as the caller sees it: the policy, approvals given and required, who
    approved, and whether the caller may decide (and why not)."""
    return Call("GET", f"/api/v1/jobs/{_segment(job_id)}/approval", ApprovalView)


def list_schedules(*, limit: int | None = None, cursor: str | None = None) -> Call[SchedulePage]:
    return Call("GET", "/api/v1/schedules", SchedulePage, params=_query(limit=limit, cursor=cursor))


def get_schedule(schedule_id: str) -> Call[ScheduleView]:
    return Call("GET", f"/api/v1/schedules/{_segment(schedule_id)}", ScheduleView)


def report(job_id: str) -> Call[dict[str, Any]]:
    return Call("GET", f"/api/v1/jobs/{_segment(job_id)}/report", dict)


def events_path(job_id: str) -> str:
    return f"/api/v1/jobs/{_segment(job_id)}/events"
