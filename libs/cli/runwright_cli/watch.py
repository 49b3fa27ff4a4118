"""``runwright jobs watch``: the live step table of a job running on the cluster."""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text
from runwright_client import AsyncRunwright
from runwright_proto.api.jobs import JobView
from runwright_proto.events import ApprovalEvent, JobEvent, StatusEvent, StepEvent
from runwright_runbook.numbering import step_label

from runwright_cli import outcomes
from runwright_cli.steps_table import StepRow, StepTable, captured_text, error_text


@dataclass
class JobState:
    job_id: str
    status: str
    reason: str | None = None
    waiting: str | None = None

    def line(self) -> Text:
        text = Text.from_markup(f"job {self.job_id}: [bold]{self.status}[/]")
        if self.reason:
            text.append(f" ({self.reason})")
        if self.waiting and self.status == "waiting_for_approval":
            text.append(f"\n{self.waiting}")
        return text


def table_for(job: JobView) -> StepTable:
    table = StepTable(job.title, {})
    for step in job.steps:
        table.rows[step.ordinal] = StepRow(description=step.description, action=step.action_type)
        if step.status != "pending":
            error = step.error or {}
            captured = captured_text(step.captured)
            if error:
                captured = error_text(str(error.get("kind")), str(error.get("message", "")))
            table.finish(
                step.ordinal,
                status=step.status,
                duration_ms=step.duration_ms,
                retries=step.retries,
                captured=captured,
            )
    return table


def apply(table: StepTable, state: JobState, event: JobEvent) -> None:
    match event:
        case StepEvent(status="running"):
            row = table.rows.setdefault(event.ordinal, StepRow("", event.action_type))
            row.description = event.description or row.description
            row.status = "running"
        case StepEvent():
            captured = captured_text(event.captured)
            if event.error is not None:
                captured = error_text(event.error.kind, event.error.message)
            table.finish(
                event.ordinal,
                status=event.status,
                duration_ms=event.duration_ms,
                retries=event.retries,
                captured=captured,
            )
        case StatusEvent():
            state.status, state.reason = event.status, event.reason
        case ApprovalEvent(state="requested"):
            state.waiting = (
                f"{step_label(event.ordinal)} waits for approval: "
                f"runwright approve {state.job_id} (or reject, skip)"
            )
        case _:
            pass


async def watch(rw: AsyncRunwright, job_id: str, console: Console) -> int:
    """Draw the job's steps until it ends; the exit code says how it ended."""
    job = await rw.get_job(job_id)
    table = table_for(job)
    state = JobState(job.id, job.status, job.reason)
    with Live(Group(table.render(), state.line()), console=console, refresh_per_second=8) as live:
        async for event in rw.follow(job.id, after=job.last_event_seq):
            apply(table, state, event)
            live.update(Group(table.render(), state.line()))
    return outcomes.for_job(state.status)
