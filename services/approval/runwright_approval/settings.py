from __future__ import annotations

from runwright_common.settings import CommonSettings


class ApprovalSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
