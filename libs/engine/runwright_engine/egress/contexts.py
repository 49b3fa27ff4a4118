"""A browser context whose every connection goes through the egress proxy, under one job's
identity, with the blocks it meets collected for the engine to fail steps with."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from playwright.async_api import Browser, BrowserContext
from runwright_common.logging import get_logger, logged_failure

from runwright_engine.egress.guard import Violations
from runwright_engine.egress.proxy import EgressProxy

log = get_logger("runwright.egress")


@contextlib.asynccontextmanager
async def guarded_context(
    browser: Browser, proxy: EgressProxy, job_id: str, **options: Any
) -> AsyncIterator[tuple[BrowserContext, Violations]]:
    """A new context of ``browser`` (``options`` as for ``new_context``) behind ``proxy``; it
    is closed, and its identity at the proxy dropped, on the way out."""
    violations = Violations()
    identity = proxy.register(job_id, violations.blocked)
    try:
        context = await browser.new_context(**options, proxy=identity.proxy_settings(proxy.server))
        try:
            yield context, violations
        finally:
            with logged_failure(log, "browser context not closed", job_id=job_id):
                await context.close()
    finally:
        proxy.unregister(identity)
