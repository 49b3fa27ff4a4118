"""The execution report every finished job gets, as JSON (the format's fields) and Markdown."""

from __future__ import annotations

from typing import Any

from msgspec import Struct

from runwright_runbook.numbering import step_number
from runwright_runbook.variables import format_value


class ReportStep(Struct, kw_only=True, rename="camel"):
    ordinal: int
    description: str
    status: str
    duration_ms: int | None
    error: str | None
    captured_values: dict[str, Any]
    action_type: str
    retries: int = 0


class ReportFile(Struct, frozen=True, kw_only=True, rename="camel"):
    """A file a run produced: in the report, and (as ``runwright_proto.reports.FileRef``) in the
    executor's ``job.finished`` report to the queue. One type for both."""

    kind: str
    name: str
    size: int
    sha256: str
    content_type: str
    ordinal: int | None = None
    path: str | None = None
    """Where the file lies on the machine that ran it: kept in a local run's report (``runwright
    exec``, the files are the user's own); never in a job's stored report, which names files by
    ``artifactId`` (the queue drops an executor's path)."""
    artifact_id: str | None = None


class ExecutionReport(Struct, kw_only=True, rename="camel"):
    runbook_title: str
    start_url: str
    status: str
    total_steps: int
    executed: int
    succeeded: int
    failed: int
    skipped: int
    aborted: bool
    steps: list[ReportStep]
    total_duration_ms: int | None
    memory_collections: dict[str, int]
    downloaded_files: list[str]
    video_paths: list[str]
    files: list[ReportFile] = []
    reason: str | None = None
    job_id: str | None = None
    submitted_by: str | None = None
    """Who submitted the job: ``user:<email>``, ``key:<name>``, ``admin`` or ``scheduler``."""
    ended_by: str | None = None
    """Who or what made the last transition (a person who cancelled, ``executor:<id>``, ...)."""
    decisions: list[ReportDecision] = []


class ReportDecision(Struct, frozen=True, kw_only=True, rename="camel"):
    """A person's (or a key's) decision on a step that waited for approval."""

    ordinal: int
    state: str
    """``approved``, ``rejected``, ``skipped``, ``timed_out`` or ``cancelled``."""
    actor: str | None
    decided_at: str | None
    reason: str | None = None


def build_report(
    *,
    title: str,
    start_url: str,
    status: str,
    steps: list[ReportStep],
    total_duration_ms: int | None,
    memory_collections: dict[str, int],
    files: list[ReportFile],
    reason: str | None = None,
    job_id: str | None = None,
    submitted_by: str | None = None,
    ended_by: str | None = None,
    decisions: list[ReportDecision] | None = None,
) -> ExecutionReport:
    succeeded = sum(1 for s in steps if s.status == "success")
    failed = sum(1 for s in steps if s.status == "failed")
    skipped = sum(1 for s in steps if s.status in ("skipped", "pending", "running"))
    return ExecutionReport(
        runbook_title=title,
        start_url=start_url,
        status=status,
        total_steps=len(steps),
        executed=succeeded + failed,
        succeeded=succeeded,
        failed=failed,
        skipped=skipped,
        aborted=status != "completed" and skipped > 0,
        steps=steps,
        total_duration_ms=total_duration_ms,
        memory_collections=memory_collections,
        downloaded_files=[f.name for f in files if f.kind == "download"],
        video_paths=[f.name for f in files if f.kind == "video"],
        files=files,
        reason=reason,
        job_id=job_id,
        submitted_by=submitted_by,
        ended_by=ended_by,
        decisions=decisions or [],
    )


def _cell(value: Any) -> str:
    return format_value(value).replace("|", "\\|").replace("\n", " ")


def to_markdown(report: ExecutionReport) -> str:
    lines = [
        f"# {report.runbook_title}",
        "",
        f"- **Status:** {report.status}" + (f" ({report.reason})" if report.reason else ""),
        f"- **Start URL:** {report.start_url}",
        f"- **Duration:** {_duration(report.total_duration_ms)}",
        f"- **Steps:** {report.total_steps} total, {report.executed} executed, "
        f"{report.succeeded} succeeded, {report.failed} failed, {report.skipped} skipped"
        + (" (aborted)" if report.aborted else ""),
        *([f"- **Submitted by:** {_cell(report.submitted_by)}"] if report.submitted_by else []),
        *([f"- **Ended by:** {_cell(report.ended_by)}"] if report.ended_by else []),
        "",
        "| # | Step | Action | Status | Duration | Retries | Captured |",
        "|---|---|---|---|---|---|---|",
    ]
    for step in report.steps:
        captured = ", ".join(f"{k} = {_cell(v)}" for k, v in step.captured_values.items())
        lines.append(
            f"| {step_number(step.ordinal)} | {_cell(step.description)} | {step.action_type} | "
            f"{step.status} | {_duration(step.duration_ms)} | {step.retries} | "
            f"{captured} |"
        )
    errors = [s for s in report.steps if s.error]
    if errors:
        lines += ["", "## Errors", ""]
        lines += [
            f"- Step {step_number(s.ordinal)} ({_cell(s.description)}): {s.error}" for s in errors
        ]
    if report.decisions:
        lines += ["", "## Approvals", ""]
        lines += [
            f"- Step {step_number(d.ordinal)}: {d.state} by {_cell(d.actor or 'nobody')}"
            + (f" at {d.decided_at}" if d.decided_at else "")
            + (f" ({_cell(d.reason)})" if d.reason else "")
            for d in report.decisions
        ]
    if report.memory_collections:
        lines += ["", "## Memory collections", ""]
        lines += [f"- {name}: {count} items" for name, count in report.memory_collections.items()]
    if report.files:
        lines += ["", "## Files", ""]
        lines += [
            f"- {f.kind}: {f.name} ({f.size} bytes, sha256 {f.sha256[:12]}…)" for f in report.files
        ]
    return "\n".join(lines) + "\n"


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    return f"{ms} ms" if ms < 1000 else f"{ms / 1000:.1f} s"
