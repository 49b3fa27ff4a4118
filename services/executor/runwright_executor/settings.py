from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from runwright_common.settings import CommonSettings


class ExecutorSettings(CommonSettings, frozen=True, kw_only=True):
    executor_slots: int = 2
    chromium_path: str = ""
    chromium_no_sandbox: bool = False
    """``RUNWRIGHT_CHROMIUM_NO_SANDBOX=1``: run Chromium without its sandbox. Only for an executor
    that must run as root; it refuses to start as root otherwise."""
    headless: bool = True
    lease_ms: int = 30_000
    drain_grace_s: float = 60.0
    files_dir: str = ""  # default: runwright-files in the system's temporary directory
    env_prefix: str = "RUNWRIGHT_VAR_"
    max_download_mb: int = 100
    live_max_fps: float = 5.0
    egress_allow: str = ""
    """``RUNWRIGHT_EGRESS_ALLOW``: what the browser may reach beyond public addresses (CIDRs,
    addresses, host names, ``*.`` wildcards, each with an optional ``:port``)."""
    warm_contexts: Annotated[int, Meta(ge=-1)] = -1
    """``RUNWRIGHT_WARM_CONTEXTS``: browser contexts (each with a blank page) kept ready for the
    next jobs; -1 (the default): one per free slot; 0: none, each job makes its own."""

    timeout_stretch: Annotated[float, Meta(ge=1, le=10)] = 3.0
    """``RUNWRIGHT_TIMEOUT_STRETCH``: the most a step's timeouts grow while the host is short of
    CPU (they count the time the page was given; see ``runwright_engine.pressure``); 1: never."""

    def warm_slots(self) -> int:
        """How many spare contexts to keep: one per slot, never more than the slots."""
        if self.warm_contexts < 0:
            return self.executor_slots
        return min(self.warm_contexts, self.executor_slots)
