"""The stack's children (``runwright_stack.processes.spawn``) live exactly as long as the process
that started them, whichever of its threads asked: a parent-death signal follows the thread that
forked, so a child a short-lived thread started (an ``asyncio.to_thread`` worker, as the chaos
soak's fault driver restarts PostgreSQL from) was told to stop when that thread ended."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from runwright_stack.processes import spawn
from support.threads import wait_until_thread_ended

SLEEPER = ["sleep", "60"]
ENV = {"PATH": "/usr/bin:/bin"}


def gone(pid: int) -> bool:
    """Exited (reaped, or a zombie its new parent has not reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_child_started_from_a_thread_that_then_ends_keeps_running(tmp_path: Path) -> None:
    started: list[subprocess.Popen[bytes]] = []
    thread = threading.Thread(
        target=lambda: started.append(spawn(SLEEPER, env=ENV, log=tmp_path / "child.log"))
    )
    thread.start()
    wait_until_thread_ended(thread)
    [child] = started
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=1)  # a SIGTERM on the thread's end would have ended it by now
    finally:
        child.kill()
        child.wait()


PARENT = """
import sys, threading, time
from pathlib import Path
from runwright_stack.processes import spawn
thread = threading.Thread(
    target=lambda: print(spawn(["sleep", "60"], env={"PATH": "/usr/bin:/bin"},
                               log=Path(sys.argv[1])).pid, flush=True))
thread.start()
thread.join()
time.sleep(60)
"""


def test_the_child_still_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "child.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    try:
        pid = int(parent.stdout.readline())
        assert not gone(pid)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while not gone(pid):
        assert time.monotonic() < deadline, "the child outlived the process that started it"
        time.sleep(0.05)
