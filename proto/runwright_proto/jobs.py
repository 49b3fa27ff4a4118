"""Job and step statuses, and which job statuses are terminal."""

from __future__ import annotations

from typing import Literal

from runwright_runbook.numbering import step_label, step_number

__all__ = [
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
STEP_STATUSES: tuple[str, ...] = ("pending", "running", "success", "failed", "skipped")
TRIGGERS: tuple[str, ...] = ("api", "schedule", "batch")
