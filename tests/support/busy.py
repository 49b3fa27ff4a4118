"""Every core busy: the load the lease tests and the detection benchmark run under."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def every_core_busy() -> Iterator[int]:
    """Busy-loop processes, one per core and one more, stopped (by their ids) on leaving."""
    procs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range((os.cpu_count() or 1) + 1)
    ]
    try:
        yield len(procs)
    finally:
        for proc in procs:
            proc.kill()
        for proc in procs:
            proc.wait()
