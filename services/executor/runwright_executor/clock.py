"""The clock leases are counted on."""

from __future__ import annotations

import time


def lease_clock() -> float:
    """Seconds on a clock that keeps counting while the machine is suspended, as the database's
    does: a lease that ran out during a suspension is known to have run out on waking."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))
