"""Starting the real stack for tests, in a private data directory on free ports."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack, StackConfig

from .causal import unordered_jobs


def new_data_dir() -> Path:
    """A private data dir the PostgreSQL system user can reach (pytest's tmp dirs are 0700)."""
    path = Path(tempfile.mkdtemp(prefix="runwright-test-", dir="/tmp"))
    path.chmod(0o755)
    return path


@contextmanager
def running_stack(
    _: pytest.TempPathFactory | None = None,
    *,
    after_stop: Callable[[Path], None] | None = None,
    **overrides: object,
) -> Iterator[Stack]:
    """The stack on free ports in a private data dir; ``after_stop`` sees that dir once every
    process has stopped, before it is removed."""
    config = StackConfig(
        data_dir=new_data_dir(),
        gateway_port=free_port(),
        admin_token="test-admin-token",
        demo_port=free_port(),
        durable=False,
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    config.env = {"RUNWRIGHT_EGRESS_ALLOW": "127.0.0.1", **config.env}  # the tests' own sites
    stack = Stack(config)
    unordered: dict[str, list[str]] = {}
    finished = False
    try:
        stack.start(ready_timeout=120)
        yield stack
        unordered = asyncio.run(unordered_jobs(stack.database_url))
        finished = True
    finally:
        stack.stop(grace_s=10)
        try:
            if finished and after_stop is not None:
                after_stop(config.data_dir)
        finally:
            shutil.rmtree(config.data_dir, ignore_errors=True)
    assert not unordered, f"job event streams out of causal order: {unordered}"
