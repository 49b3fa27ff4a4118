"""The commands that talk to a running gateway: submit, jobs, the job actions, schedules."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from runwright_client import ApiError, AsyncRunwright, GatewayUnreachable
from runwright_proto.api.jobs import JobRequest
from runwright_proto.control import ACTIONS
from runwright_proto.jobs import JOB_STATUSES

from runwright_cli import listing, outcomes
from runwright_cli.inputs import BadInput, parse_vars, read_runbook, read_secrets
from runwright_cli.target import resolve
from runwright_cli.watch import watch

Handler = Callable[[argparse.Namespace, Console], Coroutine[Any, Any, int]]
PAST = {"approve": "approved", "reject": "rejected", "skip": "skipped", "pause": "paused"}
PAST |= {"resume": "resumed", "cancel": "cancelled"}


def connect(args: argparse.Namespace) -> AsyncRunwright:
    target = resolve(args.api, args.token)
    args.api = target.api
    return AsyncRunwright(target.api, target.token)


async def submit(args: argparse.Namespace, out: Console) -> int:
    request = JobRequest(
        runbook=read_runbook(args.file),
        variables=parse_vars(args.var),
        secrets=read_secrets(args.secrets),
    )
    async with connect(args) as rw:
        job = await rw.submit(request)
        out.print(f"submitted job {job.id}: {escape(job.title)} ({job.status})", soft_wrap=True)
        if not args.follow:
            out.print(f"follow it with: runwright jobs watch {job.id}")
            return outcomes.OK
        return await watch(rw, job.id, out)


async def jobs_list(args: argparse.Namespace, out: Console) -> int:
    async with connect(args) as rw:
        listing.show_jobs(out, await rw.list_jobs(status=args.status, limit=args.limit))
    return outcomes.OK


async def jobs_get(args: argparse.Namespace, out: Console) -> int:
    async with connect(args) as rw:
        listing.show_job(out, await rw.get_job(args.job_id))
    return outcomes.OK


async def jobs_watch(args: argparse.Namespace, out: Console) -> int:
    async with connect(args) as rw:
        return await watch(rw, args.job_id, out)


async def act(args: argparse.Namespace, out: Console) -> int:
    async with connect(args) as rw:
        job = await rw.act(args.job_id, args.command, reason=args.reason)
    out.print(f"{PAST[args.command]} job {job.id}: it is now {job.status}", soft_wrap=True)
    return outcomes.OK


async def schedules_list(args: argparse.Namespace, out: Console) -> int:
    async with connect(args) as rw:
        listing.show_schedules(out, await rw.list_schedules(limit=args.limit))
    return outcomes.OK


def explain(error: ApiError, args: argparse.Namespace) -> list[str]:
    """What went wrong, for a person: the first line, then one line per bad field."""
    problem = error.problem
    if problem.status == 409 and problem.job_status:
        return [f"cannot {args.command} job {args.job_id}: it is {problem.job_status}"]
    if problem.status == 401:
        return ["the gateway refused the token: pass --token or set RUNWRIGHT_TOKEN"]
    lines = [f"{problem.title}: {problem.detail}" if problem.detail else problem.title]
    if error.retry_after_s is not None:
        lines[0] += f" (retry in {error.retry_after_s:g} s)"
    if len(problem.errors) > 1:
        lines += [f"  {e.field}: {e.message}" for e in problem.errors]
    return lines


def run(handler: Handler, args: argparse.Namespace) -> int:
    """Run one command; bad input and refusals become a clear message and an exit code."""
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    try:
        return asyncio.run(handler(args, out))
    except BadInput as exc:
        err.print(f"[red]✗[/] {escape(str(exc))}", soft_wrap=True)
        return outcomes.REFUSED
    except ApiError as exc:
        for line in explain(exc, args):
            err.print(f"[red]✗[/] {escape(line)}", soft_wrap=True)
        return outcomes.REFUSED if exc.status < 500 else outcomes.UNREACHABLE
    except GatewayUnreachable:
        err.print(
            f"[red]✗[/] no gateway answers at {escape(args.api)}: is `runwright run` running? "
            "(choose another with --api or RUNWRIGHT_API)",
            soft_wrap=True,
        )
        return outcomes.UNREACHABLE
    except KeyboardInterrupt:
        err.print("stopped following; the job goes on", soft_wrap=True)
        return outcomes.INTERRUPTED


def _gateway_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--api", help="gateway URL (RUNWRIGHT_API, .runwright/api-url, :8080)")
    options.add_argument("--token", help="API token (RUNWRIGHT_TOKEN, .runwright/admin-token)")
    return options


def add_commands(commands: Any) -> None:
    """Register the gateway commands on the top-level sub-parsers; each sets ``handler``."""
    gateway = _gateway_options()
    sub = commands.add_parser("submit", parents=[gateway], help="submit a runbook as a job")
    sub.add_argument("file", type=Path, help="runbook YAML file")
    sub.add_argument("--var", action="append", default=[], metavar="NAME=VALUE")
    sub.add_argument("--secrets", type=Path, metavar="FILE", help="JSON or YAML: name → value")
    sub.add_argument("--follow", action="store_true", help="draw the steps until the job ends")
    sub.set_defaults(handler=submit)
    jobs = commands.add_parser("jobs", help="list, show and watch jobs").add_subparsers(
        dest="jobs_command", required=True, metavar="{list,get,watch}"
    )
    listed = jobs.add_parser("list", parents=[gateway], help="newest jobs first")
    listed.add_argument("--status", choices=JOB_STATUSES)
    listed.add_argument("--limit", type=int, default=20, help="how many (1-200, default 20)")
    listed.set_defaults(handler=jobs_list)
    for name, handler, text in (("get", jobs_get, "one job"), ("watch", jobs_watch, "follow")):
        one = jobs.add_parser(name, parents=[gateway], help=text)
        one.add_argument("job_id", metavar="ID")
        one.set_defaults(handler=handler)
    for action in ACTIONS:
        steer = commands.add_parser(action, parents=[gateway], help=f"{action} a job")
        steer.add_argument("job_id", metavar="ID")
        steer.add_argument("--reason", help="why (kept in the job's audit trail)")
        steer.set_defaults(handler=act)
    schedules = commands.add_parser("schedules", help="recurring jobs").add_subparsers(
        dest="schedules_command", required=True, metavar="{list}"
    )
    listed = schedules.add_parser("list", parents=[gateway], help="the schedules")
    listed.add_argument("--limit", type=int, default=50)
    listed.set_defaults(handler=schedules_list)
