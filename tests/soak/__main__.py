"""``make soak``: the chaos soak on a stack of its own, then its table; exits 1 when a property
fails. ``make soak SOAK_ARGS="--jobs 100 --faults 8"`` runs a short one."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

from tests.soak import stack_hooks
from tests.soak.soak import Options, Outcome, soak
from tests.support.stack import supervised_stack


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.soak", description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000, help="at least this many jobs")
    parser.add_argument("--faults", type=int, default=60, help="at least this many faults")
    parser.add_argument("--max-duration", type=float, default=3 * 3600, help="seconds, at most")
    parser.add_argument("--settle", type=float, default=300, help="seconds to settle, at most")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--executors", type=int, default=None, help="executor processes (default: the shape's)"
    )
    parser.add_argument(
        "--single-node",
        action="store_true",
        help="one nats-server and one process per service (default: the clustered shape, "
        "3 NATS nodes and 2 replicas of each service, where the stack has it)",
    )
    parser.add_argument(
        "--plan", default="", help="faults first, comma-separated: approval,postgres,nats-0,..."
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the logs here")
    args = parser.parse_args()
    options = Options(
        jobs=args.jobs, faults=args.faults, max_duration_s=args.max_duration, settle_s=args.settle
    )
    options.plan = [target for target in args.plan.split(",") if target]
    if args.seed is not None:
        options.seed = args.seed
    overrides: dict[str, object] = {}
    if args.executors is not None:
        overrides["executors"] = args.executors
    outcomes: list[Outcome] = []

    def keep_logs(data: Path) -> None:
        """The services' logs, where asked, and always when a property failed."""
        failed = not outcomes or not outcomes[0].passed
        keep = args.keep_logs or (Path(f"/tmp/runwright-soak-{options.seed}") if failed else None)
        if keep is not None:
            shutil.copytree(data / "logs", keep, dirs_exist_ok=True)
            print(f"logs kept in {keep}", flush=True)

    overrides["after_stop"] = keep_logs
    if stack_hooks.can_cluster() and not args.single_node:
        overrides["cluster"] = True
    with supervised_stack(**overrides) as (stack, _):
        outcome = asyncio.run(soak(stack, options))
        outcomes.append(outcome)
        print(outcome.table(), flush=True)
    return 0 if outcome.passed else 1


if __name__ == "__main__":
    sys.exit(main())
