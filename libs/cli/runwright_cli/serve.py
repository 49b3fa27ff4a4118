"""``runwright run``: the whole system in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

from rich.console import Console
from runwright_stack.stack import Stack, StackConfig

console = Console(highlight=False)


def config_from(env: Mapping[str, str], *, cluster: bool = False) -> StackConfig:
    """``cluster``: the clustered shape (``--cluster``), as ``RUNWRIGHT_CLUSTER=1`` asks too."""
    executors = env.get("RUNWRIGHT_EXECUTORS")
    return StackConfig(
        data_dir=Path(env.get("RUNWRIGHT_DATA_DIR", ".runwright")),
        gateway_port=int(env.get("RUNWRIGHT_GATEWAY_PORT", "8080")),
        admin_token=env.get("RUNWRIGHT_ADMIN_TOKEN") or None,
        database_url=env.get("DATABASE_URL") or env.get("RUNWRIGHT_DATABASE_URL") or None,
        demo_port=int(env.get("RUNWRIGHT_DEMO_PORT", "8090")) or None,
        executors=int(executors) if executors else None,
        executor_slots=int(env.get("RUNWRIGHT_EXECUTOR_SLOTS", "2")),
        cluster=cluster or env.get("RUNWRIGHT_CLUSTER", "").lower() in ("1", "true", "yes"),
    )


def token_lines(stack: Stack, config: StackConfig) -> list[str]:
    """How to find the admin token: the file only when the stack keeps one; a token given in the
    environment is not echoed (whoever set it has it) and no file is named."""
    url = f"{stack.gateway_url}/api/v1/jobs"
    kept = config.data_dir / "admin-token"
    if config.admin_token or not kept.exists():
        return [
            "  admin token: the one in RUNWRIGHT_ADMIN_TOKEN",
            f'  try:         curl -s -H "Authorization: Bearer $RUNWRIGHT_ADMIN_TOKEN" {url}',
        ]
    return [
        f"  admin token: [bold]{stack.token}[/]  (kept in {kept})",
        f'  try:         curl -s -H "Authorization: Bearer $(cat {kept})" {url}',
    ]


def _announce(stack: Stack, config: StackConfig, started: float) -> None:
    console.print(
        f"\n[bold green]Runwright is running[/] "
        f"({time.monotonic() - started:.1f} s) at {', '.join(stack.gateway_urls)}"
    )
    if config.cluster:
        console.print(
            f"  cluster:     {len(stack.nats_nodes)} NATS nodes ({stack.nats_address}), "
            f"{sum(1 for c in stack.children.values() if c.health_port)} service processes "
            "(any gateway serves every request)"
        )
    lines = token_lines(stack, config)
    console.print(lines[0])
    console.print(f"  logs:        {stack.log_dir}")
    console.print(f"  metrics:     every service's /metrics, listed in {stack.scrape_targets_path}")
    console.print(lines[1])
    for line in first_owner_lines(stack):
        console.print(line)
    console.print("Press Ctrl-C to stop.")


def first_owner_lines(stack: Stack) -> list[str]:
    """How the first Owner gets an account: the admin token is the bootstrap credential."""
    return [
        f"  first Owner: open {stack.gateway_url}/console, sign in with the admin token, and on"
        " Team invite yourself as owner;",
        "               open the link it shows, set a password, and sign in with it from then on"
        " (rotate the token: runwright admin-token rotate)",
    ]


def _progress(_: str, text: str) -> None:
    console.print(f"  [green]✓[/] {text}")


def run_foreground(*, cluster: bool = False) -> int:
    config = config_from(os.environ, cluster=cluster)
    stack = Stack(config)
    stopping = False

    def on_signal(signum: int, _: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started = time.monotonic()
    console.print(f"[bold]Runwright[/] starting (data in {config.data_dir.resolve()})")
    try:
        with console.status("starting services…"):
            stack.start(_progress)
    except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
        console.print(f"[red]✗ start-up failed:[/] {exc}")
        stack.stop(grace_s=5)
        return 1
    _announce(stack, config, started)
    stack.supervise(lambda: stopping, lambda _, text: console.print(f"[yellow]![/] {text}"))
    console.print("stopping…")
    stack.stop()
    # Stopped: a late second signal must not turn a clean exit into death by signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    console.print("[green]stopped[/]; data kept in", str(config.data_dir.resolve()))
    return 0
