"""Timeouts that count the time the page was given, not the time it waited for a CPU.

A runbook's timeout is a promise about the web application ("the table shows within 10 s"), not
about the host. When more pages run than the CPUs serve, each page waits its turn, and a 10 s wait
can pass with the page having run for three: the step fails though the application kept its
promise. So before each step the engine reads how starved of CPU its host is, from the kernel's
pressure stall information (PSI): the share of the last ten seconds in which runnable tasks of its
cgroup (``/sys/fs/cgroup/cpu.pressure``, which counts a container's CPU limit too) or of the
machine (``/proc/pressure/cpu``) waited for a CPU. The step's timeouts are divided by the share
that was left: at 50 % they double, and they grow at most ``MAX_STRETCH`` times. Where the kernel
offers no PSI, the one-minute load average per usable CPU stands in for it.

An idle or lightly loaded host stretches nothing (below ``FLOOR`` nothing changes), so runs there
time out exactly when the runbook says.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SOURCES = (Path("/sys/fs/cgroup/cpu.pressure"), Path("/proc/pressure/cpu"))
MAX_STRETCH = 3.0
"""The most a timeout grows: past this a starved host fails steps rather than hang on them."""
FLOOR = 0.10
"""Stall shares below this stretch nothing."""


def stall_share(text: str) -> float | None:
    """The ``some avg10`` share (0-1) of a PSI file's text, or None when it has none."""
    for line in text.splitlines():
        kind, *fields = line.split()
        if kind != "some":
            continue
        for item in fields:
            name, _, value = item.partition("=")
            if name == "avg10":
                try:
                    return min(1.0, max(0.0, float(value) / 100))
                except ValueError:
                    return None
    return None


def load_share(load: float, cpus: int) -> float:
    """The share of time a runnable task waits when ``load`` of them share ``cpus``."""
    return 0.0 if load <= cpus else 1 - cpus / load


def factor(share: float, limit: float = MAX_STRETCH) -> float:
    """How many times longer a timeout runs at this stall share."""
    if share < FLOOR:
        return 1.0
    return min(limit, 1 / max(1e-3, 1 - share))


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Pressure:
    """Where the stall share is read; ``limit`` 1 turns the stretching off."""

    sources: Sequence[Path] = SOURCES
    limit: float = MAX_STRETCH
    load: Callable[[], float] = field(default=lambda: os.getloadavg()[0])

    def share(self) -> float:
        for path in self.sources:
            try:
                found = stall_share(path.read_text())
            except OSError:
                continue
            if found is not None:
                return found
        try:
            return load_share(self.load(), _usable_cpus())
        except OSError:
            return 0.0

    def stretch(self, timeout_ms: int) -> int:
        """``timeout_ms`` as long as it must be for the page to get that much time now."""
        if self.limit <= 1:
            return timeout_ms
        return int(timeout_ms * factor(self.share(), self.limit))
