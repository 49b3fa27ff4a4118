"""``runwright exec runbook.yaml``: the engine in one process, for authoring runbooks.

No cluster: Chromium is launched here, each step is drawn as it runs, and the execution report is
printed at the end and written (JSON and Markdown) to the output directory.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import msgspec
from playwright.async_api import async_playwright
from rich.console import Console, Group
from rich.live import Live
from rich.markdown import Markdown
from rich.table import Table
from runwright_common import redaction
from runwright_engine.browser import launch
from runwright_engine.engine import Engine, Observer, RunOutcome, StepResult
from runwright_runbook import RunbookInvalid, parse_runbook
from runwright_runbook.model import Runbook, Step, action_type
from runwright_runbook.report import ExecutionReport, ReportFile, ReportStep, build_report
from runwright_runbook.report import to_markdown as report_markdown
from runwright_runbook.variables import submission_errors

from runwright_cli.steps_table import StepRow, StepTable, captured_text, error_text


class LiveProgress(Observer):
    """The step table, redrawn as the engine reports."""

    def __init__(self, runbook: Runbook) -> None:
        self.table = StepTable(
            runbook.title,
            {
                s.ordinal: StepRow(description=s.description, action=action_type(s.action))
                for s in runbook.steps
            },
        )
        self.live: Live | None = None

    def render(self) -> Table:
        return self.table.render()

    def _update(self) -> None:
        if self.live is not None:
            self.live.update(self.render())

    async def step_started(self, step: Step, description: str) -> None:
        row = self.table.rows[step.ordinal]
        row.description, row.status = description, "running"
        self._update()

    async def step_finished(self, step: Step, result: StepResult) -> None:
        captured = captured_text(result.captured)
        if result.error:
            captured = error_text(result.error.kind, result.error.message)
        self.table.finish(
            step.ordinal,
            status=result.status,
            duration_ms=result.duration_ms,
            retries=result.retries,
            captured=captured,
        )
        self._update()


def parse_vars(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--var expects name=value, got {pair!r}")
        values[name] = value
    return values


def report_for(runbook: Runbook, outcome: RunOutcome) -> ExecutionReport:
    steps = [
        ReportStep(
            ordinal=r.ordinal,
            description=r.description,
            status=r.status,
            duration_ms=r.duration_ms if r.status != "skipped" else None,
            error=(f"{r.error.kind}: {r.error.message} — {r.error.hint}" if r.error else None),
            captured_values=r.captured,
            action_type=r.action_type,
            retries=r.retries,
        )
        for r in outcome.results
    ]
    files = [
        ReportFile(
            kind=f.kind,
            name=f.name,
            size=f.size,
            sha256=f.sha256,
            content_type=f.content_type,
            ordinal=f.ordinal,
            path=str(f.path),
        )
        for f in outcome.files
    ]
    return build_report(
        title=runbook.title,
        start_url=runbook.metadata.start_url,
        status=outcome.status,
        steps=steps,
        total_duration_ms=outcome.duration_ms,
        memory_collections={k: len(v) for k, v in outcome.memory.items()},
        files=files,
        reason=outcome.reason,
    )


async def execute(
    runbook: Runbook,
    *,
    variables: dict[str, str],
    secrets: dict[str, str],
    out: Path,
    headed: bool,
    console: Console,
) -> ExecutionReport:
    progress = LiveProgress(runbook)
    async with async_playwright() as playwright:
        browser = await launch(playwright, headless=not headed)
        context = await browser.new_context(
            viewport={"width": 1280, "height": 720}, accept_downloads=True
        )
        engine = Engine(
            context, runbook, variables=variables, secrets=secrets, files_dir=out, observer=progress
        )
        with Live(progress.render(), console=console, refresh_per_second=8) as live:
            progress.live = live
            outcome = await engine.run()
        await context.close()
        await browser.close()
    return report_for(runbook, outcome)


def run_exec(
    path: Path, var_pairs: list[str], secrets_file: Path | None, headed: bool, out: Path | None
) -> int:
    console = Console(highlight=False)
    try:
        runbook = parse_runbook(path.read_text())
    except OSError as exc:
        console.print(f"[red]cannot read {path}: {exc.strerror}[/]")
        return 2
    except RunbookInvalid as exc:
        for error in exc.errors:
            console.print(f"[red]✗ {path}: {error.field}: {error.message}[/]")
        return 2
    variables = parse_vars(var_pairs)
    secrets: dict[str, str] = json.loads(secrets_file.read_text()) if secrets_file else {}
    problems = submission_errors(runbook, variables, secrets)
    if problems:
        for error in problems:
            hint = (
                f" (pass --var {error.field.split('.')[-1]}=…)"
                if error.field.startswith("variables.")
                else ""
            )
            console.print(f"[red]✗ {error.field}: {error.message}{hint}[/]")
        return 2
    out = out or Path("runwright-out") / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    redaction.register(tuple(secrets.values()))
    report = asyncio.run(
        execute(
            runbook, variables=variables, secrets=secrets, out=out, headed=headed, console=console
        )
    )
    (out / "report.json").write_bytes(msgspec.json.format(msgspec.json.encode(report)))
    markdown = report_markdown(report)
    (out / "report.md").write_text(markdown)
    console.print(Group(Markdown(markdown)))
    console.print(f"report and files in {out}")
    return 0 if report.status == "completed" else 1
