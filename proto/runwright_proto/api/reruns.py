"""Running a finished job again, a batch's failed rows again, and a run beside an earlier one."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import Struct

RERUN_LABEL = "runwright.rerun_of"
"""Label on a job or batch row that re-runs another: the job it re-runs."""


class RerunRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/jobs/{id}/rerun``: the same runbook (and version), variables and options.

    A job's secrets are deleted when it ends: a runbook that needs some is given them again."""

    secrets: dict[str, Any] = {}


class BatchRerunRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/batches/{id}/rerun``: the rows whose jobs failed (or were cancelled), or
    every row, as a new batch."""

    only: Literal["failed", "all"] = "failed"
    secrets: dict[str, Any] = {}


class RunSide(Struct, kw_only=True):
    id: str
    status: str
    created_at: str
    duration_ms: int | None
    runbook_version: int | None
    steps_succeeded: int
    steps_failed: int


class StepSide(Struct, kw_only=True):
    status: str
    duration_ms: int | None
    retries: int
    error: str | None = None


class StepComparison(Struct, kw_only=True):
    ordinal: int
    description: str
    base: StepSide | None
    """``None``: the earlier run had no such step."""
    head: StepSide | None
    delta_ms: int | None
    """How much longer (positive) or shorter the step took in ``head``."""
    changed: bool
    """Its status differs, or it exists in one run only."""


class Comparison(Struct, kw_only=True):
    """``GET /api/v1/jobs/{id}/compare``: this run (``head``) beside an earlier one (``base``)."""

    base: RunSide
    head: RunSide
    delta_ms: int | None
    steps: list[StepComparison]
    same_runbook_version: bool
    detail: dict[str, Any] = {}
