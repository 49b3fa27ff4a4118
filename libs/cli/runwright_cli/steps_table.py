"""The live step table: one row per step, drawn with rich and redrawn as steps change.

``runwright exec`` feeds it from the engine in this process; ``runwright jobs watch`` from a
job's event stream. Steps are numbered the way people read them (``step 1`` for ordinal 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rich.table import Table
from runwright_runbook.numbering import step_number
from runwright_runbook.variables import format_value

ICONS = {
    "pending": "[dim]○ pending[/]",
    "running": "[yellow]◐ running[/]",
    "success": "[green]✓ success[/]",
    "failed": "[red]✗ failed[/]",
    "skipped": "[dim]- skipped[/]",
}
COLUMNS = ("#", "step", "action", "status", "time", "retries", "captured")


@dataclass
class StepRow:
    description: str
    action: str
    status: str = "pending"
    duration: str = ""
    retries: str = ""
    captured: str = ""


def captured_text(captured: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={format_value(v)[:40]}" for k, v in captured.items())


def error_text(kind: str, message: str) -> str:
    return f"[red]{kind}[/]: {message[:120]}"


class StepTable:
    """Rows by ordinal, and the rich table that shows them under a title."""

    def __init__(self, title: str, rows: dict[int, StepRow]) -> None:
        self.title = title
        self.rows = rows

    def finish(
        self,
        ordinal: int,
        *,
        status: str,
        duration_ms: int | None,
        retries: int,
        captured: str,
    ) -> None:
        row = self.rows.setdefault(ordinal, StepRow(description="", action=""))
        row.status = status
        row.duration = f"{duration_ms} ms" if duration_ms is not None else ""
        row.retries = str(retries or "")
        row.captured = captured

    def render(self, caption: str | None = None) -> Table:
        table = Table(title=self.title, title_justify="left", expand=True, caption=caption)
        for column in COLUMNS:
            table.add_column(column, overflow="fold")
        for ordinal, row in sorted(self.rows.items()):
            table.add_row(
                str(step_number(ordinal)),
                row.description,
                row.action,
                ICONS.get(row.status, row.status),
                row.duration,
                row.retries,
                row.captured,
            )
        return table
