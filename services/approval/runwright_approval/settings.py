from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from runwright_common.settings import CommonSettings

Positive = Annotated[float, Meta(gt=0)]
AtLeastOne = Annotated[int, Meta(ge=1)]


class ApprovalSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    public_url: str = ""
    """Where people open Runwright (``https://runwright.example.com``); makes links absolute."""
    queue_timeout_s: Positive = 5.0
    """How long a final decision waits for the queue to apply it."""
    webhook_retry_base_s: Positive = 1.0
    """First retry delay; each further retry doubles it, up to ``webhook_retry_cap_s``."""
    webhook_retry_cap_s: Positive = 300.0
    webhook_max_attempts: AtLeastOne = 8
    webhook_timeout_s: Positive = 10.0
    webhook_concurrency: AtLeastOne = 16
    webhook_sweep_s: Positive = 1.0
    webhook_allowed_hosts: list[str] = []
    """Receiver hosts allowed (``hooks.slack.com``, ``*.example.com``, ``10.0.0.0/8``); empty:
    any host."""
