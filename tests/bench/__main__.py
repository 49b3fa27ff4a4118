"""``make bench``: start the real stack once, run each benchmark, print the figures."""

from __future__ import annotations

import argparse
import platform
import time

from runwright_cli.ports import free_port
from runwright_cli.stack import Stack, StackConfig

from tests.bench import submit_latency
from tests.support.stack import new_data_dir

BENCHMARKS = {"submit": submit_latency.run}


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})",
    )
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark {', '.join(sorted(unknown))}")
    args.names = args.names or list(BENCHMARKS)
    print(
        f"Runwright benchmarks on {platform.node()} ({platform.machine()}, "
        f"Python {platform.python_version()}), {time.strftime('%Y-%m-%d %H:%M')}"
    )
    stack = Stack(
        StackConfig(
            data_dir=new_data_dir(), gateway_port=free_port(), admin_token="bench", durable=True
        )
    )
    started = time.monotonic()
    stack.start(lambda _, text: print(f"  ✓ {text}", flush=True))
    print(f"stack ready in {time.monotonic() - started:.1f} s\n")
    try:
        for name in args.names:
            print(BENCHMARKS[name](stack), "\n", flush=True)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
