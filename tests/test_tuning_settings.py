"""The fan-out window, the spare browser contexts and the timeout stretch are settings; a value
that would break them stops the service with a message naming the variable, and the defaults
follow the slots."""

from __future__ import annotations

import pytest
from runwright_common.errors import SettingsError
from runwright_common.settings import load
from runwright_executor.settings import ExecutorSettings
from runwright_gateway.settings import GatewaySettings


@pytest.mark.parametrize(
    ("cls", "variable", "value"),
    [
        (GatewaySettings, "RUNWRIGHT_SSE_WINDOW_EVENTS", "0"),
        (GatewaySettings, "RUNWRIGHT_SSE_WINDOW_EVENTS", "many"),
        (GatewaySettings, "RUNWRIGHT_SSE_WINDOW_MB", "0"),
        (ExecutorSettings, "RUNWRIGHT_WARM_CONTEXTS", "-2"),
        (ExecutorSettings, "RUNWRIGHT_TIMEOUT_STRETCH", "0.5"),
        (ExecutorSettings, "RUNWRIGHT_TIMEOUT_STRETCH", "11"),
    ],
)
def test_a_value_that_would_break_the_setting_is_refused_by_name(
    cls: type[GatewaySettings] | type[ExecutorSettings], variable: str, value: str
) -> None:
    with pytest.raises(SettingsError, match=variable):
        load(cls, {variable: value})


@pytest.mark.parametrize(("warm", "slots", "kept"), [("", "4", 4), ("0", "4", 0), ("9", "2", 2)])
def test_spare_contexts_default_to_one_per_slot_and_never_exceed_the_slots(
    warm: str, slots: str, kept: int
) -> None:
    settings = load(
        ExecutorSettings, {"RUNWRIGHT_WARM_CONTEXTS": warm, "RUNWRIGHT_EXECUTOR_SLOTS": slots}
    )
    assert settings.warm_slots() == kept


def test_timeouts_stretch_at_most_three_times_unless_told() -> None:
    assert load(ExecutorSettings, {}).timeout_stretch == 3.0
    assert load(ExecutorSettings, {"RUNWRIGHT_TIMEOUT_STRETCH": "1"}).timeout_stretch == 1.0
