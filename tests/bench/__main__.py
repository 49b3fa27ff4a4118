"""``make bench``: run each benchmark and print its figures beside its baseline.

``make bench BENCH_ARGS="engine"`` runs one. Benchmarks that need the whole system share one stack,
started once.
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from runwright_stack.ports import free_port, wait_for_port
from runwright_stack.stack import Stack, StackConfig

from tests.bench import (
    console_list,
    controlplane,
    decisions,
    density,
    egress_overhead,
    engine_overhead,
    executors,
    failure_detection,
    fanout,
    instrumentation,
    live_and_artifacts,
    spares,
    submit_latency,
    table_scale,
)
from tests.support.stack import new_data_dir


def _engine(_: Stack | None) -> str:
    with fixture_app_process() as base:
        return engine_overhead.run_with(base)


@contextlib.contextmanager
def fixture_app_process() -> Iterator[str]:
    """The fixture app in its own process, so it does not share the benchmark's interpreter."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "tests.fixture_app.app:create_app",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _egress(_: Stack | None) -> str:
    with fixture_app_process() as base:
        return egress_overhead.run_with(base)


def _instrumentation(_: Stack | None) -> str:
    with fixture_app_process() as base:
        return instrumentation.run_with(base)


def _executors(_: Stack | None) -> str:
    with fixture_app_process() as base:
        return executors.run_with(base)


def _controlplane(_: Stack | None) -> str:
    return controlplane.run()


def _detect(_: Stack | None) -> str:
    return failure_detection.run()


def _density(_: Stack | None) -> str:
    return density.run()


def _spares(_: Stack | None) -> str:
    return spares.run()


def _tables(_: Stack | None) -> str:
    return table_scale.run()


def _live(stack: Stack | None) -> str:
    assert stack is not None
    with fixture_app_process() as base:
        return live_and_artifacts.run(stack, base)


def _decisions(stack: Stack | None) -> str:
    assert stack is not None
    with fixture_app_process() as base:
        return decisions.run(stack, base)


def _submit(stack: Stack | None) -> str:
    assert stack is not None
    return submit_latency.run(stack)


def _fanout(stack: Stack | None) -> str:
    assert stack is not None
    return fanout.run(stack)


def _console(stack: Stack | None) -> str:
    assert stack is not None
    return console_list.run(stack)


BENCHMARKS: dict[str, tuple[bool, Callable[[Stack | None], str]]] = {
    "engine": (False, _engine),
    "egress": (False, _egress),
    "spares": (False, _spares),
    "density": (False, _density),
    "tables": (False, _tables),
    "instrumentation": (False, _instrumentation),
    "controlplane": (False, _controlplane),  # its own stack, with simulated executors
    "executors": (False, _executors),  # a stack per executor count
    "detect": (False, _detect),
    "submit": (True, _submit),
    "live": (True, _live),
    "decisions": (True, _decisions),
    "fanout": (True, _fanout),
    "console": (True, _console),  # last: it leaves a million jobs in the shared stack
}


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
    names = args.names or list(BENCHMARKS)
    print(
        f"Runwright benchmarks on {platform.node()} ({platform.machine()}, "
        f"Python {platform.python_version()}), {time.strftime('%Y-%m-%d %H:%M')}\n"
    )
    stack: Stack | None = None
    try:
        for name in names:
            needs_stack, bench = BENCHMARKS[name]
            if needs_stack and stack is None:
                stack = Stack(
                    StackConfig(
                        data_dir=new_data_dir(),
                        gateway_port=free_port(),
                        admin_token="bench",
                        durable=True,
                        executors=2,
                        executor_slots=4,
                        # The burst sends 2,000 jobs with one credential within seconds.
                        # The console bench writes finished jobs up to 180 days old: retention
                        # would start removing them while it measures.
                        env={
                            "RUNWRIGHT_SUBMIT_RATE_WORKSPACE": "1000000",
                            "RUNWRIGHT_SUBMIT_RATE_CALLER": "1000000",
                            "RUNWRIGHT_RETAIN_JOBS_DAYS": "0",
                            "RUNWRIGHT_RETAIN_EVENTS_DAYS": "0",
                        },
                    )
                )
                started = time.monotonic()
                stack.start(lambda _, text: print(f"  ✓ {text}", flush=True))
                print(f"stack ready in {time.monotonic() - started:.1f} s\n")
            print(f"[{name}]", flush=True)
            print(bench(stack), "\n", flush=True)
    finally:
        if stack is not None:
            stack.stop()
            shutil.rmtree(stack.data_dir, ignore_errors=True)  # the console bench leaves ~2 GB


if __name__ == "__main__":
    main()
