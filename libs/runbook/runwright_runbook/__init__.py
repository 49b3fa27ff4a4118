"""The runbook model shared by the gateway (validation) and the executor (execution)."""

from runwright_runbook.model import (
    Action,
    Capture,
    MemoryOperation,
    Runbook,
    RunwrightOptions,
    Selector,
    Step,
    VariableDef,
)
from runwright_runbook.parse import FieldError, RunbookInvalid, parse_runbook

__all__ = [
    "Action",
    "Capture",
    "FieldError",
    "MemoryOperation",
    "Runbook",
    "RunbookInvalid",
    "RunwrightOptions",
    "Selector",
    "Step",
    "VariableDef",
    "parse_runbook",
]
