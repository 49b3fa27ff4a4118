"""Job and step statuses, and which job statuses are terminal."""

from __future__ import annotations

from typing import Literal

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
