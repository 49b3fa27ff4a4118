"""The chaos soak, short: a mix of jobs (plain, approvals a bot decides, paused and resumed,
cancelled, batches, a schedule every minute, a webhook, SSE followers hopping gateways) while
processes are killed with SIGKILL (any replica of any service, one NATS node at a time),
PostgreSQL restarts and an executor is drained and comes back, on the clustered shape; then
nothing is lost, stuck, repeated or missing. ``make soak`` runs the long one."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from support.stack import supervised_stack

from tests.soak.soak import Options, Outcome, soak

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(900)
def test_a_short_soak_under_faults_loses_nothing_and_repeats_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    outcomes: list[Outcome] = []
    kept = tmp_path_factory.mktemp("soak-logs")

    def keep_logs(data: Path) -> None:
        if not outcomes or not outcomes[0].passed:
            shutil.copytree(data / "logs", kept, dirs_exist_ok=True)

    # The clustered shape, as `make soak` runs it: three NATS nodes, two of every service.
    with supervised_stack(after_stop=keep_logs, cluster=True) as (stack, _):
        options = Options(jobs=60, faults=8, max_duration_s=300, settle_s=240)
        outcomes.append(asyncio.run(soak(stack, options)))
    [outcome] = outcomes
    print(outcome.table())
    # Its length is capped (five minutes of faults): on a busy machine it runs fewer jobs.
    assert len(outcome.driver.log) >= 8, "fewer faults than asked for"
    assert outcome.workload.submitted > 0
    assert outcome.passed, f"{outcome.table()}\nthe services' logs: {kept}"
