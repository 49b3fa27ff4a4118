"""Running the engine in-process against the fixture app, and reading what the page logged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page
from runwright_engine.engine import Engine, RunOutcome, StepResult
from runwright_engine.plugins import AiProvider
from runwright_runbook import parse_runbook

from support.runbooks import runbook


@dataclass
class Run:
    outcome: RunOutcome
    page: Page
    files_dir: Path
    values: dict[str, Any]
    engine: Engine

    @property
    def steps(self) -> list[StepResult]:
        return self.outcome.results

    def step(self, ordinal: int) -> StepResult:
        return self.outcome.results[ordinal]

    async def log(self) -> list[str]:
        text = await self.page.locator("#log").text_content()
        return [line for line in (text or "").split("\n") if line]


async def run_steps(
    browser: Browser,
    start_url: str,
    steps: list[dict[str, Any]],
    tmp: Path,
    *,
    variables: Mapping[str, Any] | None = None,
    secrets: Mapping[str, str] | None = None,
    data: Mapping[str, Any] | None = None,
    ai: AiProvider | None = None,
    env: Mapping[str, str] | None = None,
    timeout_ms: int = 5000,
    stop_on_error: bool = True,
    pause_ms: int = 0,
    runbook_variables: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    prepare: Callable[[BrowserContext], Awaitable[None]] | None = None,
    document: dict[str, Any] | None = None,
    **options: Any,
) -> Run:
    """Run ``steps`` (or a whole ``document``) in a fresh context of ``browser``; ``prepare``
    may set the context up first (routes, for instance)."""
    document = document or runbook(
        steps,
        start_url=start_url,
        timeout_ms=timeout_ms,
        stop_on_error=stop_on_error,
        pause_ms=pause_ms,
        variables=runbook_variables,
    )
    document.update(extra or {})
    context = await browser.new_context(
        viewport={"width": 1280, "height": 720}, accept_downloads=True
    )
    if prepare is not None:
        await prepare(context)
    engine = Engine(
        context,
        parse_runbook(document),
        variables=variables,
        secrets=secrets,
        data=data,
        files_dir=tmp,
        ai=ai,
        env=env or {},
        **options,
    )
    outcome = await engine.run()
    return Run(outcome, context.pages[0], tmp, engine.values, engine)
