"""Job and step statuses: which are terminal, which mean an executor holds the job."""

from __future__ import annotations

from typing import Literal

from runwright_runbook.numbering import step_label, step_number

__all__ = [
    "ACTIVE",
    "JOB_STATUSES",
    "STEP_STATUSES",
    "TERMINAL",
    "TRIGGERS",
    "JobStatus",
    "StepStatus",
    "Trigger",
    "step_label",
    "step_number",
]

JobStatus = Literal[
    "scheduled",
    "queued",
    "running",
    "waiting_for_approval",
    "paused",
    "completed",
    "failed",
    "cancelled",
]
StepStatus = Literal["pending", "running", "success", "failed", "skipped"]
Trigger = Literal["api", "schedule", "batch"]

JOB_STATUSES: tuple[str, ...] = (
    "scheduled",
    "queued",
    "running",
    "waiting_for_approval",
    "paused",
    "completed",
    "failed",
    "cancelled",
)
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
ACTIVE: tuple[str, ...] = ("running", "paused", "waiting_for_approval")
"""Statuses of a job an executor holds (claimed, lease running): they count against concurrency."""
STEP_STATUSES: tuple[str, ...] = ("pending", "running", "success", "failed", "skipped")
TRIGGERS: tuple[str, ...] = ("api", "schedule", "batch")
