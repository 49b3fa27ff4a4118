"""Tables for ``jobs list``, ``jobs get`` and ``schedules list``."""

from __future__ import annotations

from datetime import datetime

from rich.console import Console
from rich.table import Table
from runwright_proto.api.jobs import JobPage, JobView
from runwright_proto.api.schedules import SchedulePage

from runwright_cli.watch import table_for


def when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def show_jobs(console: Console, page: JobPage) -> None:
    if not page.items:
        console.print("no jobs")
        return
    table = Table(expand=True)
    for column in ("id", "status", "title", "trigger", "created", "steps"):
        table.add_column(column, overflow="fold")
    for job in page.items:
        table.add_row(
            job.id,
            job.status,
            job.title,
            job.trigger,
            when(job.created_at),
            f"{job.steps_done}/{job.steps_total}",
        )
    console.print(table)
    if page.next_cursor:
        console.print("[dim]more jobs: raise --limit[/]")


def show_job(console: Console, job: JobView) -> None:
    console.print(f"[bold]{job.title}[/]  job {job.id}")
    console.print(f"  status:   [bold]{job.status}[/]" + (f" ({job.reason})" if job.reason else ""))
    console.print(f"  trigger:  {job.trigger}, priority {job.priority}")
    console.print(f"  created:  {when(job.created_at)}")
    if job.started_at:
        console.print(f"  started:  {when(job.started_at)}")
    if job.finished_at:
        console.print(f"  finished: {when(job.finished_at)}")
    if job.labels:
        console.print("  labels:   " + ", ".join(f"{k}={v}" for k, v in job.labels.items()))
    if job.allowed_actions:
        console.print("  actions:  " + ", ".join(job.allowed_actions))
    console.print(table_for(job).render())


def show_schedules(console: Console, page: SchedulePage) -> None:
    if not page.items:
        console.print("no schedules")
        return
    table = Table(expand=True)
    for column in ("id", "name", "cron", "timezone", "state", "next run"):
        table.add_column(column, overflow="fold")
    for schedule in page.items:
        table.add_row(
            schedule.id,
            schedule.name,
            schedule.cron,
            schedule.timezone,
            "paused" if schedule.paused else "active",
            when(schedule.next_fire_at),
        )
    console.print(table)
