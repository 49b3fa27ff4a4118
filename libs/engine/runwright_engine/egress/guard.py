"""What fails a step for egress: a connection the proxy blocked, a navigation to a non-web URL,
or a frame that ended up on one.

Blocks arrive from the proxy while a step runs (or between steps); the engine fails the step that
is running, or the next one, with the first block it has not reported yet.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import Frame, Page

from runwright_engine.egress.policy import Verdict

WEB_SCHEMES = frozenset({"http", "https"})
FRAME_PAGES = frozenset({"about:blank", "about:srcdoc"})
BROWSER_ERROR_PAGE = "chrome-error://"
"""Where a frame goes when its load failed: the browser's own page, reported by the failure."""
HINT = (
    "The browser tried to reach a destination the egress policy denies (only public http and "
    "https destinations are allowed by default): change the runbook, or allow the destination in "
    "RUNWRIGHT_EGRESS_ALLOW."
)


class EgressBlocked(Exception):
    """A step reached for a destination the egress policy denies (the message names it)."""


def non_web(url: str, *, allowed: frozenset[str] = FRAME_PAGES) -> bool:
    return url not in allowed and urlsplit(url).scheme.lower() not in WEB_SCHEMES


def check_navigation(url: str) -> None:
    """A navigation to anything but http, https or ``about:blank`` fails before it is tried."""
    if non_web(url, allowed=frozenset({"about:blank"})):
        raise EgressBlocked(f"blocked by the egress policy: {_shown(url)} is not an http(s) URL")


class Violations:
    """The blocks and non-web frames one context has had that no step has failed for yet."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self._watched: set[int] = set()

    def blocked(self, verdict: Verdict) -> None:
        self.pending.append(verdict.message)

    def add(self, message: str) -> None:
        self.pending.append(message)

    def watch(self, page: Page) -> None:
        """Report the page's frames that end up on a non-web URL (each page watched once)."""
        if id(page) not in self._watched:
            self._watched.add(id(page))
            page.on("framenavigated", self._navigated)

    def _navigated(self, frame: Frame) -> None:
        if non_web(frame.url) and not frame.url.startswith(BROWSER_ERROR_PAGE):
            which = "the page" if frame.parent_frame is None else "a frame"
            self.add(f"blocked by the egress policy: {which} went to {_shown(frame.url)}")

    def take(self) -> EgressBlocked | None:
        """The first violation not reported yet (the rest go with it), or None."""
        if not self.pending:
            return None
        first, more = self.pending[0], len(self.pending) - 1
        self.pending.clear()
        return EgressBlocked(first + (f" (and {more} more)" if more else ""))

    def raise_any(self) -> None:
        if (error := self.take()) is not None:
            raise error


def _shown(url: str) -> str:
    return url if len(url) <= 80 else url[:77] + "..."
