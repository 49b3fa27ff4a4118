"""``runwright``: ``run`` starts the whole system here, ``exec`` runs one runbook without it, and
``submit``, ``jobs``, the job actions and ``schedules`` talk to a running gateway."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import typing
from importlib.metadata import version
from pathlib import Path
from types import FrameType

from rich.console import Console
from runwright_stack.stack import Stack, StackConfig

from runwright_cli import outcomes, remote

console = Console(highlight=False)


def _run(args: argparse.Namespace) -> int:
    env = os.environ
    config = StackConfig(
        data_dir=Path(env.get("RUNWRIGHT_DATA_DIR", ".runwright")),
        gateway_port=int(env.get("RUNWRIGHT_GATEWAY_PORT", "8080")),
        admin_token=env.get("RUNWRIGHT_ADMIN_TOKEN") or None,
        database_url=env.get("DATABASE_URL") or env.get("RUNWRIGHT_DATABASE_URL") or None,
        demo_port=int(env.get("RUNWRIGHT_DEMO_PORT", "8090")) or None,
        executors=int(env.get("RUNWRIGHT_EXECUTORS", "1")),
        executor_slots=int(env.get("RUNWRIGHT_EXECUTOR_SLOTS", "2")),
    )
    stack = Stack(config)
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    console.print(f"[bold]Runwright[/] starting (data in {config.data_dir.resolve()})")

    def progress(_: str, text: str) -> None:
        console.print(f"  [green]✓[/] {text}")

    try:
        with console.status("starting services…"):
            stack.start(progress)
    except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
        console.print(f"[red]✗ start-up failed:[/] {exc}")
        stack.stop(grace_s=5)
        return 1
    token = stack.token
    console.print(
        f"\n[bold green]Runwright is running[/] "
        f"({time.monotonic() - started:.1f} s) at {stack.gateway_url}"
    )
    console.print(f"  admin token: [bold]{token}[/]  (kept in {config.data_dir}/admin-token)")
    console.print(f"  logs:        {stack.log_dir}")
    console.print(
        '  try:         curl -s -H "Authorization: Bearer $(cat '
        f'{config.data_dir}/admin-token)" {stack.gateway_url}/api/v1/jobs'
    )
    console.print("Press Ctrl-C to stop.")
    while not stopping:
        time.sleep(0.5)
        if not stopping:
            stack.supervise_once(lambda _, text: console.print(f"[yellow]![/] {text}"))
    console.print("stopping…")
    stack.stop()
    # Stopped: a late second signal must not turn a clean exit into death by signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    console.print("[green]stopped[/]; data kept in", str(config.data_dir.resolve()))
    return 0


class Parser(argparse.ArgumentParser):
    """A usage error exits with ``outcomes.REFUSED`` (2 means a cancelled job)."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(outcomes.REFUSED, f"{self.prog}: error: {message}\n")


def main(argv: list[str] | None = None) -> None:
    parser = Parser(prog="runwright", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"runwright {version('runwright-cli')}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="start the whole system in the foreground (embedded default)")
    demo = commands.add_parser("demo", help="serve the bundled demo web application")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8090)
    execute = commands.add_parser("exec", help="run one runbook here, no cluster (authoring)")
    execute.add_argument("runbook", type=Path, help="runbook YAML file")
    execute.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable value (repeatable)",
    )
    execute.add_argument(
        "--secrets",
        type=Path,
        metavar="FILE.json",
        help="JSON object of run secrets (always masked)",
    )
    execute.add_argument("--headed", action="store_true", help="show the browser window")
    execute.add_argument(
        "--out", type=Path, help="where the report and files go (default runwright-out/<time>)"
    )
    remote.add_commands(commands)
    args = parser.parse_args(argv)
    if hasattr(args, "handler"):
        sys.exit(remote.run(args.handler, args))
    if args.command == "exec":
        from runwright_cli.exec_run import run_exec

        sys.exit(run_exec(args.runbook, args.var, args.secrets, args.headed, args.out))
    if args.command == "run":
        sys.exit(_run(args))
    if args.command == "demo":
        from runwright_demo.__main__ import main as serve_demo

        serve_demo(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
