"""The AI stages of selector resolution and the ``ai`` capture: a plug-in point, off by default.

Refrain's pipeline has AI selector resolution, agent and vision fallbacks; Runwright runs the
deterministic stages itself and calls a provider only when one is configured.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from playwright.async_api import Locator, Page
from runwright_runbook.model import Capture, Selector


class AiProvider(Protocol):
    name: str

    async def resolve_selector(
        self, page: Page, selector: Selector, description: str
    ) -> Locator | None:
        """Find the element the deterministic strategies could not, or None."""

    async def capture(self, page: Page, capture: Capture, values: Mapping[str, Any]) -> Any:
        """Answer an ``ai`` capture's ``prompt`` from the page."""

    async def context_variable(self, context: str, name: str, description: str) -> Any:
        """Extract a ``context`` variable from the runbook's context markdown."""
