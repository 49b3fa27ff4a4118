"""``runwright``: ``run`` starts the whole system here, ``exec`` runs one runbook without it, and
``submit``, ``jobs``, the job actions and ``schedules`` talk to a running gateway."""

from __future__ import annotations

import argparse
import os
import sys
import typing
from importlib.metadata import version
from pathlib import Path

from runwright_cli import outcomes, remote
from runwright_cli.serve import run_foreground


class Parser(argparse.ArgumentParser):
    """A usage error exits with ``outcomes.REFUSED`` (2 means a cancelled job)."""

    def error(self, message: str) -> typing.NoReturn:
        self.print_usage(sys.stderr)
        self.exit(outcomes.REFUSED, f"{self.prog}: error: {message}\n")


def build_parser() -> Parser:
    parser = Parser(prog="runwright", description=__doc__)
    parser.add_argument(
        "--version", action="version", version=f"runwright {version('runwright-cli')}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "run", help="start the whole system in the foreground (embedded default)"
    )
    serve.add_argument(
        "--cluster",
        action="store_true",
        help="three NATS nodes, two replicas of every service, three executors"
        " (also RUNWRIGHT_CLUSTER=1)",
    )
    demo = commands.add_parser("demo", help="serve the bundled demo web application")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8090)
    _add_exec(commands)
    token = commands.add_parser("admin-token", help="the installation's admin token")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    token_commands.add_parser(
        "rotate",
        help="replace the kept admin token: the old one, and console sessions signed in with it,"
        " stop working within a second, without a restart",
    )
    migrate = commands.add_parser(
        "migrate",
        help="apply every service's database migrations once and exit (upgrades); --check only"
        " verifies",
    )
    migrate.add_argument(
        "--database-url",
        help="default: RUNWRIGHT_DATABASE_URL; RUNWRIGHT_<SERVICE>_DATABASE_URL for one service",
    )
    migrate.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 unless every schema is at this release's migrations",
    )
    remote.add_commands(commands)
    return parser


def _add_exec(commands: typing.Any) -> None:
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


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if hasattr(args, "handler"):
        sys.exit(remote.run(args.handler, args))
    if args.command == "exec":
        from runwright_cli.exec_run import run_exec

        sys.exit(run_exec(args.runbook, args.var, args.secrets, args.headed, args.out))
    if args.command == "admin-token":
        from runwright_cli.admin_token import rotate

        sys.exit(rotate(os.environ))
    if args.command == "migrate":
        from runwright_cli.migrate import run_migrate

        sys.exit(run_migrate(os.environ, args.database_url, args.check))
    if args.command == "run":
        sys.exit(run_foreground(cluster=args.cluster))
    if args.command == "demo":
        from runwright_demo.__main__ import main as serve_demo

        serve_demo(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
