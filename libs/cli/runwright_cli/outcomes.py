"""Exit codes of the commands that talk to a gateway (documented in libs/cli/README.md)."""

from __future__ import annotations

OK = 0
"""Done: the job completed, or the request was carried out."""
FAILED = 1
"""The job failed."""
CANCELLED = 2
"""The job was cancelled."""
REFUSED = 3
"""Nothing was done: bad input (a missing file, invalid YAML, a bad option), an unknown job, or
the gateway refused the request (a 4xx answer, such as 409 when the job's status forbids it)."""
UNREACHABLE = 4
"""No gateway answered, or it answered with a server error (5xx): trying later may help."""
INTERRUPTED = 130
"""Ctrl-C while following a job (the job itself goes on)."""

BY_STATUS = {"completed": OK, "failed": FAILED, "cancelled": CANCELLED}


def for_job(status: str) -> int:
    """The exit code for a job that ended with ``status``."""
    return BY_STATUS.get(status, FAILED)
