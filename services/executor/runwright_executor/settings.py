from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from runwright_common.errors import SettingsError
from runwright_common.settings import CommonSettings

RENEWALS_PER_LEASE = 3
"""A lease must outlast at least this many renewal periods, so that two renewals in a row can
be lost or late (a NATS hiccup, a starved event loop) without the job being declared lost."""


class ExecutorSettings(CommonSettings, frozen=True, kw_only=True):
    executor_slots: int = 2
    chromium_path: str = ""
    chromium_no_sandbox: bool = False
    """``RUNWRIGHT_CHROMIUM_NO_SANDBOX=1``: run Chromium without its sandbox. Only for an executor
    that must run as root; it refuses to start as root otherwise."""
    headless: bool = True
    lease_ms: Annotated[int, Meta(ge=1000)] = 6_000
    """``RUNWRIGHT_LEASE_MS``: how long a claim or renewal keeps a job this executor's. A dead
    executor's jobs leave ``running`` at most this plus the queue's ``RUNWRIGHT_REAPER_INTERVAL_S``
    after its last renewal (docs/failure-detection.md)."""
    lease_renew_ms: Annotated[int, Meta(ge=100)] = 1_500
    """``RUNWRIGHT_LEASE_RENEW_MS``: how often a running job's lease is renewed (one NATS request
    to the queue each); at most ``RUNWRIGHT_LEASE_MS`` / 3."""
    lease_patience_s: Annotated[float, Meta(ge=0, le=3600)] = 120.0
    """``RUNWRIGHT_LEASE_PATIENCE_S``: once a running job's lease may have run out because renewals
    fail (PostgreSQL, NATS or every queue replica unreachable), how long the attempt keeps asking
    before it gives the job up. No step starts meanwhile; a renewal granted again resumes the run
    (docs/failure-detection.md)."""
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

    def __post_init__(self) -> None:
        if self.lease_ms < RENEWALS_PER_LEASE * self.lease_renew_ms:
            raise SettingsError(
                f"RUNWRIGHT_LEASE_MS ({self.lease_ms}) must be at least {RENEWALS_PER_LEASE} times "
                f"RUNWRIGHT_LEASE_RENEW_MS ({self.lease_renew_ms}): a lease must survive two lost "
                "renewals"
            )

    def warm_slots(self) -> int:
        """How many spare contexts to keep: one per slot, never more than the slots."""
        if self.warm_contexts < 0:
            return self.executor_slots
        return min(self.warm_contexts, self.executor_slots)
