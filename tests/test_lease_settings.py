"""Lease timing settings: the relation that keeps a live executor's lease alive is enforced at
start, and the shipped values keep the detection promise."""

from __future__ import annotations

import pytest
from runwright_common.errors import SettingsError
from runwright_common.settings import load
from runwright_executor.settings import ExecutorSettings
from runwright_queue.settings import QueueSettings


def test_a_lease_shorter_than_three_renewals_stops_the_executor_naming_both_settings() -> None:
    with pytest.raises(SettingsError) as refused:
        load(ExecutorSettings, {"RUNWRIGHT_LEASE_MS": "4000", "RUNWRIGHT_LEASE_RENEW_MS": "1500"})
    assert "RUNWRIGHT_LEASE_MS (4000)" in str(refused.value)
    assert "RUNWRIGHT_LEASE_RENEW_MS (1500)" in str(refused.value)
    settings = load(
        ExecutorSettings, {"RUNWRIGHT_LEASE_MS": "4500", "RUNWRIGHT_LEASE_RENEW_MS": "1500"}
    )
    assert (settings.lease_ms, settings.lease_renew_ms) == (4500, 1500)


def test_the_shipped_timing_detects_a_dead_executor_within_ten_seconds() -> None:
    executor, queue = load(ExecutorSettings, {}), load(QueueSettings, {})
    assert executor.lease_ms / 1000 + queue.reaper_interval_s <= 10
    assert executor.lease_ms >= 3 * executor.lease_renew_ms


def test_a_reaper_interval_of_zero_is_refused_by_name() -> None:
    with pytest.raises(SettingsError, match="RUNWRIGHT_REAPER_INTERVAL_S"):
        load(QueueSettings, {"RUNWRIGHT_REAPER_INTERVAL_S": "0"})
