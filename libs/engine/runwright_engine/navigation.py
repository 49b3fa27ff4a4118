"""Knowing when the page's main frame has moved on to a new document.

Playwright reports every committed navigation of a frame; counting the main frame's lets an action
that started a navigation wait for that one to commit (the page's current document is still the
old, fully loaded one until then, so waiting for a load state alone returns at once).
"""

from __future__ import annotations

import asyncio
import contextlib

from playwright.async_api import Frame, Page


class NavigationWatch:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0
        self._moved = asyncio.Event()
        page.on("framenavigated", self._on_navigated)

    def _on_navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            self.count += 1
            self._moved.set()

    async def wait_past(self, count: int, timeout_ms: int) -> bool:
        """Wait until the main frame has navigated since ``count`` was read; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_ms / 1000
        while self.count <= count:
            self._moved.clear()
            left = deadline - loop.time()
            if left <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), left)
        return True
