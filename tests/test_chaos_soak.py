"""The chaos soak, short: a mix of jobs (plain, approvals a bot decides, paused and resumed,
cancelled, batches, a schedule every minute, a webhook, SSE followers hopping gateways) while
processes are killed with SIGKILL, PostgreSQL restarts and an executor is drained and comes back;
then nothing is lost, stuck, repeated or missing. ``make soak`` runs the long one."""

from __future__ import annotations

import asyncio

import pytest
from runwright_stack.stack import Stack
from support.stack import supervised_stack

from tests.soak.soak import Options, soak

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
def test_a_short_soak_under_faults_loses_nothing_and_repeats_nothing() -> None:
    with supervised_stack() as (stack, _):
        outcome = asyncio.run(soak(stack, Options(jobs=70, faults=8, settle_s=240)))
    print(outcome.table())
    assert outcome.driver.counts, "no fault was injected"
    assert outcome.passed, outcome.table()
    assert isinstance(stack, Stack)
