"""The error shape of every 4xx and 5xx answer: RFC 9457 problem details."""

from __future__ import annotations

from msgspec import Struct
from runwright_runbook.parse import FieldError

__all__ = ["PROBLEM_MEDIA_TYPE", "FieldError", "ProblemDetails"]

PROBLEM_MEDIA_TYPE = "application/problem+json"


class ProblemDetails(Struct, kw_only=True):
    """``application/problem+json``; ``code`` is stable for programs, ``title`` for people."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] = []
    """Each bad field: its path in the request (``runbook.steps[2].action``, ``limit``)."""
    job_status: str | None = None
    """On a 409 for a job action: the status that refused it."""
    version: int | None = None
    """On a 409 for a schedule change: the version it has now."""
