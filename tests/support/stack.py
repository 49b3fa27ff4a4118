"""Starting the real stack for tests, in a private data directory on free ports."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack, StackConfig

from .causal import unordered_jobs


def new_data_dir() -> Path:
    """A private data dir, mode 0700 as ``mktemp -d`` makes it: the stack opens it to its own
    accounts alone."""
    return Path(tempfile.mkdtemp(prefix="runwright-test-", dir="/tmp"))


LOST_REPLY = re.compile(r"permissions violation for publish to \\?\"_inbox_", re.IGNORECASE)
"""A reply to a request that a restarted nats-server never saw: it grants a reply only to the
request it delivered, so an answer sent after the restart is refused (the asker retries)."""


def refused_by_nats(log_dir: Path, *, restarts: bool = False) -> list[str]:
    """Permission violations a service was told of: each is a subject its NATS user lacks
    (``runwright_proto.permissions`` is missing something its code does). ``restarts``: the test
    restarted nats-server, so replies to requests from before the restart are refused too."""
    found = []
    for log in sorted(log_dir.glob("*.log")):
        if log.name == "nats.log" or log.name.startswith("nats-"):
            continue  # the servers' own logs also list what tests try on purpose
        for line in log.read_text(errors="replace").splitlines():
            if restarts and LOST_REPLY.search(line):
                continue
            if "permissions violation" in line.lower():
                found.append(f"{log.stem}: {line[:300]}")
    return found


class Supervisor:
    """``runwright run``'s supervision loop on a thread, which a test can hold back a while; it
    runs until the stack's last check is done. What it restarts lives as long as the test's
    process, not its thread (``runwright_stack.processes`` forks every child on one thread)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.held = threading.Event()
        self.stopping = threading.Event()
        self.said: list[str] = []
        self.thread = threading.Thread(target=self._loop, name="supervisor", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        self.stack.supervise(
            lambda: self.stopping.is_set(),
            lambda _, text: self.said.append(text.splitlines()[0]),
            held=self.held.is_set,
        )

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Nothing is restarted inside the block (a dependency stays down while a test looks)."""
        self.held.set()
        try:
            yield
        finally:
            self.held.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)


@contextmanager
def running_stack(
    _: pytest.TempPathFactory | None = None,
    *,
    after_stop: Callable[[Path], None] | None = None,
    before_stop: Callable[[], None] | None = None,
    nats_restarts: bool = False,
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
    config.env = {
        "RUNWRIGHT_EGRESS_ALLOW": "127.0.0.1",  # the tests' own sites
        # Every test calls from 127.0.0.1, and many send bad tokens on purpose: the per-source
        # limit is tested on a gateway of its own (test_people_e2e).
        "RUNWRIGHT_SIGNIN_SOURCE_LIMIT": "1000000",
        # Bursts of submissions are tested elsewhere; the rate limits on a gateway of their own.
        "RUNWRIGHT_SUBMIT_RATE_WORKSPACE": "1000000",
        "RUNWRIGHT_SUBMIT_RATE_CALLER": "1000000",
        # Slack's Approve/Reject clicks are signed with it (test_approval_policy_e2e).
        "RUNWRIGHT_SLACK_SIGNING_SECRET": "test-slack-signing-secret",
        # ... and the decided message is updated on a loopback stand-in for hooks.slack.com.
        "RUNWRIGHT_SLACK_RESPONSE_HOSTS": '["127.0.0.1"]',
        **config.env,
    }
    stack = Stack(config)
    unordered: dict[str, list[str]] = {}
    refused: list[str] = []
    finished = False
    try:
        stack.start(ready_timeout=120)
        yield stack
        unordered = asyncio.run(unordered_jobs(stack.database_url))
        finished = True
    finally:
        if before_stop is not None:
            before_stop()
        stack.stop(grace_s=10)
        try:
            refused = refused_by_nats(config.data_dir / "logs", restarts=nats_restarts)
            if finished and after_stop is not None:
                after_stop(config.data_dir)
        finally:
            shutil.rmtree(config.data_dir, ignore_errors=True)
    assert not unordered, f"job event streams out of causal order: {unordered}"
    assert not refused, f"nats-server refused a service what its work needs: {refused}"


@contextmanager
def supervised_stack(**overrides: Any) -> Iterator[tuple[Stack, Supervisor]]:
    """The stack with ``runwright run``'s supervision running, as under ``make run``."""
    supervisors: list[Supervisor] = []

    def stop_supervising() -> None:
        for supervisor in supervisors:
            supervisor.stop()

    with running_stack(before_stop=stop_supervising, nats_restarts=True, **overrides) as stack:
        supervisors.append(Supervisor(stack))
        yield stack, supervisors[0]


def another_gateway_env(stack: Stack, port: int) -> dict[str, str]:
    """The environment of one more gateway process beside the stack's (a second replica): the
    first gateway's settings, its own public port, health port and instance name."""
    env = dict(stack.service("gateway").env)
    env.update(
        {
            "RUNWRIGHT_GATEWAY_PORT": str(port),
            "RUNWRIGHT_HEALTH_PORT": str(free_port()),
            "RUNWRIGHT_INSTANCE": f"gateway-{port}",
        }
    )
    return env
