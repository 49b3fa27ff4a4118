from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from runwright_common.errors import SettingsError
from runwright_common.settings import CommonSettings

from runwright_queue.sealing import BadKey, Keyring


class QueueSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    reaper_interval_s: Annotated[float, Meta(gt=0, le=10)] = 1.0
    """``RUNWRIGHT_REAPER_INTERVAL_S``: how often the reaper looks for expired leases. A dead
    executor's jobs leave ``running`` at most the executor's ``RUNWRIGHT_LEASE_MS`` plus this after
    its last renewal (docs/failure-detection.md)."""
    outage_grace_s: Annotated[float, Meta(ge=1, le=600)] = 10.0
    """``RUNWRIGHT_OUTAGE_GRACE_S``: after a stretch in which no reaper could pass (PostgreSQL or
    NATS down, every queue replica gone), every active lease runs from the first pass after it
    for as long as that stretch plus a reaper interval and a second, at most this, so that
    executors that lived through the outage renew before anything is reaped
    (docs/failure-detection.md)."""
    max_queued: int = 10_000
    workspace_concurrency: int = 50
    redispatch_after_s: float = 30.0
    max_requeues: int = 3
    secrets_key: str = ""
    """``<key id>:<base64 of 32 bytes>``: seals new run secrets (``RUNWRIGHT_SECRETS_KEY``)."""
    secrets_old_keys: str = ""
    """Comma-separated older keys, same form: they only open rows sealed before a rotation."""

    def __repr__(self) -> str:  # the keys never reach a log line
        return f"QueueSettings(instance={self.instance!r}, secrets keys withheld)"


def keyring(settings: QueueSettings) -> Keyring:
    """The keys from the settings; a missing or bad one stops the queue, naming the variable."""
    try:
        return Keyring.parse(settings.secrets_key, settings.secrets_old_keys)
    except BadKey as exc:
        raise SettingsError(str(exc)) from None
