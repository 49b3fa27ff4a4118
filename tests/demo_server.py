"""Run the Acme Back Office demo app in-process, on a free loopback port, for tests.

with running_demo_app() as base_url:
    httpx.get(f"{base_url}/healthz")
"""

from collections.abc import Iterator
from contextlib import contextmanager

from runwright_demo import create_app
from support.threaded_server import serving


@contextmanager
def running_demo_app(host: str = "127.0.0.1") -> Iterator[str]:
    """A fresh demo app; its base URL (no trailing slash)."""
    with serving(create_app(), "demo-app", host) as base_url:
        yield base_url
