"""Restarting what died, with back-off: at once the first time, then slower while it keeps dying."""

from __future__ import annotations

import time
from dataclasses import dataclass

FIRST_DELAYS_S = (0.0, 0.5, 1.0, 2.0, 4.0)
MAX_DELAY_S = 10.0
STEADY_S = 30.0
"""Up this long, a process is well again: its next death restarts it at once."""


@dataclass
class Restarts:
    """When a process that died may be started again."""

    count: int = 0
    """Restarts so far (what the banner reports)."""
    recent: int = 0
    started_at: float = 0.0
    due_at: float | None = None

    def started(self) -> None:
        self.started_at = time.monotonic()
        self.due_at = None

    def died(self) -> float:
        """Note a death (once); returns the delay before the restart."""
        now = time.monotonic()
        if self.due_at is None:
            if now - self.started_at >= STEADY_S:
                self.recent = 0
            delays = FIRST_DELAYS_S
            delay = delays[self.recent] if self.recent < len(delays) else MAX_DELAY_S
            self.recent += 1
            self.due_at = now + delay
        return max(0.0, self.due_at - now)

    def due(self) -> bool:
        return self.due_at is not None and time.monotonic() >= self.due_at

    def restarted(self) -> None:
        self.count += 1
        self.started()
