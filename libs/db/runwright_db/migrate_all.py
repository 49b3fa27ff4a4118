"""Every service's migrations in one go (``runwright migrate``, and ``runwright run`` before it
starts the services): each schema is migrated as its owner's role, as the service itself would.

A login that is the service's role migrates as itself; a login that may become it (the
superuser, or an admin granted the roles) switches to it with ``SET ROLE``, so what it creates
belongs to the service; a single shared login (no per-service roles) migrates as itself.
"""

from __future__ import annotations

from collections.abc import Mapping

import asyncpg

from runwright_db.migrate import check, migrate
from runwright_db.pool import create_pool
from runwright_db.roles import OWNERS, role


def package(service: str) -> str:
    return f"runwright_{service}.migrations"


def url_for(service: str, environ: Mapping[str, str], default: str) -> str:
    """``RUNWRIGHT_<SERVICE>_DATABASE_URL`` (the service's own login) or the shared URL."""
    return environ.get(f"RUNWRIGHT_{service.upper()}_DATABASE_URL") or default


async def _as_owner(conn: asyncpg.Connection, service: str) -> None:
    name = role(service)
    if await conn.fetchval(
        "SELECT current_user <> $1 AND EXISTS (SELECT FROM pg_roles WHERE rolname = $1) "
        "AND pg_has_role(current_user, $1, 'MEMBER')",
        name,
    ):
        await conn.execute(f"SET ROLE {name}")


async def migrate_all(
    url: str,
    environ: Mapping[str, str] | None = None,
    *,
    only_check: bool = False,
    services: tuple[str, ...] = OWNERS,
) -> dict[str, list[str]]:
    """Migrate (or, ``only_check``, check) every service's schema; returns what was applied per
    service. Raises the first service's :class:`~runwright_common.errors.StartupRefused`."""
    environ = environ or {}
    applied: dict[str, list[str]] = {}
    for service in services:
        pool = await create_pool(
            url_for(service, environ, url),
            min_size=1,
            max_size=1,
            setup=lambda conn, s=service: _as_owner(conn, s),
        )
        try:
            if only_check:
                await check(pool, service, package(service))
                applied[service] = []
            else:
                applied[service] = await migrate(pool, service, package(service))
        finally:
            await pool.close()
    return applied
