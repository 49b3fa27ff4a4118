"""Serve the fixture app in-process, on a free loopback port, for tests.

with running_fixture_app() as base_url:
    httpx.get(f"{base_url}/static")
"""

from collections.abc import Iterator
from contextlib import contextmanager

from support.threaded_server import serving

from .app import create_app


@contextmanager
def running_fixture_app(host: str = "127.0.0.1") -> Iterator[str]:
    """A fresh fixture app; its base URL (no trailing slash)."""
    with serving(create_app(), "fixture-app", host) as base_url:
        yield base_url
