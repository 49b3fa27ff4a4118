"""CPU time of process trees from /proc: how much of a core each part of the stack used."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its reaped children)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    # fields[0] is state; ppid, then utime, stime, cutime, cstime at 11..14 (0-based from state)
    return int(fields[1]), sum(int(x) for x in fields[11:15]) / TICKS


def _tree_times() -> tuple[dict[int, list[int]], dict[int, float]]:
    children: dict[int, list[int]] = defaultdict(list)
    times: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            found = _stat(int(entry.name))
            if found is not None:
                children[found[0]].append(int(entry.name))
                times[int(entry.name)] = found[1]
    return children, times


class CpuMeter:
    """CPU seconds of named process trees (a process and everything below it), sampled."""

    def __init__(self, roots: dict[str, list[int]]) -> None:
        self.roots = roots
        self.last = self._read()
        self.at = time.monotonic()

    def _read(self) -> dict[str, float]:
        children, times = _tree_times()
        totals: dict[str, float] = {}
        for name, pids in self.roots.items():
            total, todo = 0.0, list(pids)
            while todo:
                pid = todo.pop()
                total += times.get(pid, 0.0)
                todo.extend(children.get(pid, ()))
            totals[name] = total
        return totals

    def cores(self) -> dict[str, float]:
        """Cores each tree used since the last call (1.0: one core all the time)."""
        now, at = self._read(), time.monotonic()
        elapsed = max(at - self.at, 1e-6)
        used = {n: max(0.0, now[n] - self.last.get(n, 0.0)) / elapsed for n in now}
        self.last, self.at = now, at
        return used


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far, from /proc/stat."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    values = [float(x) for x in first]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return total - idle, total
