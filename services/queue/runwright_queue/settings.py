from __future__ import annotations

from runwright_common.settings import CommonSettings


class QueueSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    reaper_interval_s: float = 2.0
    max_queued: int = 10_000
    workspace_concurrency: int = 50
    redispatch_after_s: float = 30.0
    max_requeues: int = 3
