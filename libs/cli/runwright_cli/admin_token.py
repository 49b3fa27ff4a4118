"""``runwright admin-token rotate``: a new admin token in the data directory's kept file. The
running gateway reads that file and notices the change within a second; the old token and every
console session signed in with it stop working."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from runwright_stack.stack import write_admin_token

from runwright_cli import outcomes

console = Console(highlight=False, stderr=True)


def rotate(env: Mapping[str, str]) -> int:
    if env.get("RUNWRIGHT_ADMIN_TOKEN"):
        console.print(
            "[red]✗[/] RUNWRIGHT_ADMIN_TOKEN is set: this installation takes its token from the"
            " environment. Change it where it is set and restart the gateway."
        )
        return outcomes.REFUSED
    path = Path(env.get("RUNWRIGHT_DATA_DIR", ".runwright")) / "admin-token"
    if not path.exists():
        console.print(f"[red]✗[/] no admin token is kept in {path}: start Runwright once first")
        return outcomes.REFUSED
    token = write_admin_token(path)
    print(token)
    console.print(
        f"[green]✓[/] the admin token in {path} was replaced; the old one and its console"
        " sessions stop working within a second"
    )
    return 0
