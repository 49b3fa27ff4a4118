from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from runwright_common.settings import CommonSettings


class SchedulerSettings(CommonSettings, frozen=True, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    tick_s: Annotated[float, Meta(gt=0, le=60)] = 1.0
    """How often the firing pass looks for due occurrences."""
    catch_up: Annotated[int, Meta(ge=0, le=100)] = 1
    """After downtime, how many missed occurrences of a schedule still fire (the latest ones)."""
    misfire_grace_s: Annotated[float, Meta(ge=0)] = 60.0
    """An occurrence handled later than this after its time counts as missed."""
    submit_timeout_s: Annotated[float, Meta(gt=0)] = 5.0
