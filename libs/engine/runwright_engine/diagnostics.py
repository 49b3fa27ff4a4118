"""Evidence for a failed step: page URL and title, selectors tried, console errors, a screenshot
and a DOM excerpt around where the element was expected."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.async_api import Page
from runwright_common.logging import get_logger, logged_failure
from runwright_proto.reports import StepError
from runwright_runbook.model import Action, Selector
from runwright_runbook.numbering import step_number

from runwright_engine.attempts import attempts, message
from runwright_engine.errors import HINTS, classify
from runwright_engine.files import FileRecord, record, unique_path
from runwright_engine.network import network_code, network_hint

log = get_logger("runwright.engine.diagnostics")

EXCERPT_CHARS = 1500


def _anchors(selector: Selector | None) -> list[str]:
    if selector is None:
        return []
    values = [
        selector.id,
        selector.data_test_id,
        selector.aria_label,
        selector.label_text,
        selector.inner_text,
        selector.placeholder,
        selector.name,
    ]
    values += list((selector.data_attributes or {}).values())
    return [v for v in values if v]


def dom_excerpt(html: str, selector: Selector | None) -> str:
    """The part of the page's HTML around the first thing the selector names, else the start of
    the body."""
    for anchor in _anchors(selector):
        index = html.find(anchor)
        if index >= 0:
            start = max(0, index - EXCERPT_CHARS // 2)
            return html[start : start + EXCERPT_CHARS]
    body = re.search(r"<body[^>]*>", html)
    start = body.start() if body else 0
    return html[start : start + EXCERPT_CHARS]


async def step_screenshot(
    page: Page, files_dir: Path, ordinal: int, label: str = ""
) -> FileRecord | None:
    """The page after a step (when the job asks for screenshots), or before it (an approval).

    A step that navigates may leave the page loading; then the engine waits for the new page and
    tries once more, so a screenshot is not silently lost."""
    suffix = f"-{label}" if label else ""
    path = unique_path(files_dir / "screenshots", f"step-{step_number(ordinal)}{suffix}.png")
    for attempt in range(2):
        try:
            await page.screenshot(path=str(path), timeout=5000)
        except Exception as exc:
            log.info("screenshot not taken", ordinal=ordinal, attempt=attempt, error=repr(exc))
            if attempt == 0:
                with logged_failure(log, "page did not finish loading", ordinal=ordinal):
                    await page.wait_for_load_state("load", timeout=5000)
            continue
        return record("screenshot", path, ordinal)
    return None


async def diagnose(
    page: Page,
    action: Action,
    exc: BaseException,
    console: list[str],
    files_dir: Path,
    ordinal: int,
) -> tuple[StepError, FileRecord | None]:
    kind = classify(exc)
    diagnostics: dict[str, Any] = {"console_errors": list(console), "url": page.url}
    with logged_failure(log, "failed page's title not read", ordinal=ordinal):
        diagnostics["title"] = await page.title()
    tried = getattr(exc, "tried", None)
    if tried:
        diagnostics["selectors_tried"] = [
            {
                "strategy": a.strategy,
                "query": a.query,
                "matches": a.matches,
                "visible": a.visible,
                "attempt": a.attempt,
            }
            for a in tried
        ]
    selector = getattr(action, "selector", None)
    with logged_failure(log, "failed page's content not read", ordinal=ordinal):
        diagnostics["dom_excerpt"] = dom_excerpt(await page.content(), selector)
    shot: FileRecord | None = None
    with logged_failure(log, "failed page's screenshot not taken", ordinal=ordinal):
        path = unique_path(files_dir / "screenshots", f"step-{step_number(ordinal)}-failure.png")
        await page.screenshot(path=str(path), timeout=5000)
        shot = record("screenshot", path, ordinal)
        diagnostics["screenshot"] = shot.name
    diagnostics["attempts"] = attempts(exc, action)
    said = message(exc, diagnostics["attempts"])
    hint = network_hint(said) or HINTS[kind]
    if code := network_code(said):
        diagnostics["network_error"] = code
    return StepError(kind=kind, message=said, hint=hint, diagnostics=diagnostics), shot
