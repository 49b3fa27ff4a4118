"""Waiting for a thread to be gone from the kernel, not only from Python."""

from __future__ import annotations

import threading
import time
from pathlib import Path


def wait_until_thread_ended(thread: threading.Thread, timeout: float = 10) -> None:
    """Until ``thread`` has ended in the kernel too (``join`` returns a little before): by then a
    parent-death signal it owed its children has been sent."""
    thread.join(timeout)
    task = Path(f"/proc/self/task/{thread.native_id}")
    deadline = time.monotonic() + timeout
    while task.exists():
        assert time.monotonic() < deadline, "the thread did not end"
        time.sleep(0.01)
