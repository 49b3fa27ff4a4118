"""``runwright migrate``: apply every service's database migrations once and exit (an upgrade
step before the new release's services start, e.g. a Kubernetes Job or Helm hook); ``--check``
changes nothing and says whether the schema is at this release's versions."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from rich.console import Console
from runwright_common.errors import StartupRefused
from runwright_db.migrate_all import migrate_all

from runwright_cli import outcomes

console = Console(highlight=False, stderr=True)


def database_url(env: Mapping[str, str], given: str | None) -> str | None:
    return given or env.get("RUNWRIGHT_DATABASE_URL") or env.get("DATABASE_URL")


def run_migrate(env: Mapping[str, str], url: str | None, only_check: bool) -> int:
    url = database_url(env, url)
    if not url:
        console.print(
            "[red]✗[/] no database: set RUNWRIGHT_DATABASE_URL (a login that owns, or may become,"
            " each service's role) or pass --database-url"
        )
        return outcomes.REFUSED
    try:
        applied = asyncio.run(migrate_all(url, env, only_check=only_check))
    except StartupRefused as exc:
        console.print(f"[red]✗[/] {exc}")
        return outcomes.FAILED
    except (OSError, TimeoutError) as exc:
        console.print(f"[red]✗[/] database not reachable: {exc!r}")
        return outcomes.UNREACHABLE
    for service, names in applied.items():
        if only_check:
            console.print(f"[green]✓[/] {service}: at this release's migrations")
        elif names:
            console.print(f"[green]✓[/] {service}: applied {', '.join(names)}")
        else:
            console.print(f"[green]✓[/] {service}: up to date")
    return outcomes.OK
