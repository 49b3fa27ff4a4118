"""Least privilege in PostgreSQL: the embedded server asks every login for its password, each
service signs in as its own role, owns its schema and reads only what others publish for it;
a cluster an earlier release made (trust, one login, a shared ledger) is switched over in place."""

from __future__ import annotations

import asyncio
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from runwright_db import migrate
from runwright_db.roles import OWNERS, READS, SERVICES, role
from runwright_stack.accounts import open_to_accounts
from runwright_stack.postgres import EmbeddedPostgres, bin_dir
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.stack import new_data_dir, running_stack

pytestmark = pytest.mark.e2e

DENIED = (asyncpg.InsufficientPrivilegeError,)
ROLES_SQL = Path(__file__).resolve().parents[1] / "deploy" / "postgres" / "roles.sql"


def login(stack: Stack, service: str) -> str:
    assert stack.postgres is not None
    password = stack.database_passwords[service]
    return f"postgresql://{role(service)}:{password}@127.0.0.1:{stack.postgres.port}/postgres"


async def _may(dsn: str, statement: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(statement)
            raise _Rollback
    except _Rollback:
        return True
    except DENIED:
        return False
    finally:
        await conn.close()


class _Rollback(Exception):
    """Leave nothing behind: every probe's transaction is rolled back."""


def may(stack: Stack, service: str, statement: str) -> bool:
    return asyncio.run(_may(login(stack, service), statement))


def test_the_embedded_postgresql_asks_every_login_for_its_password(stack: Stack) -> None:
    assert stack.postgres is not None
    port = stack.postgres.port

    async def attempt(dsn: str) -> None:
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.close()

    for user in ("postgres", *(role(s) for s in SERVICES)):
        with pytest.raises(asyncpg.InvalidPasswordError):
            asyncio.run(attempt(f"postgresql://{user}:wrong@127.0.0.1:{port}/postgres"))
        with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.ClientConfigurationError)):
            asyncio.run(attempt(f"postgresql://{user}@127.0.0.1:{port}/postgres?password="))
    hba = (stack.postgres.pgdata / "pg_hba.conf").read_text()
    rules = [line.split() for line in hba.splitlines() if line and not line.startswith("#")]
    assert rules
    assert all(rule[0] == "host" and rule[-1] == "scram-sha-256" for rule in rules)
    kept = stack.data_dir / "postgres-password"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_each_service_signs_in_as_its_own_role_and_the_executor_has_no_login(
    stack: Stack,
) -> None:
    for name, child in stack.children.items():
        service = name.split("-")[0]
        if service == "executor":
            assert not {"RUNWRIGHT_DATABASE_URL", "DATABASE_URL", "PGPASSWORD"} & set(child.env)
        elif service in SERVICES:
            assert child.env["RUNWRIGHT_DATABASE_URL"].startswith(f"postgresql://{role(service)}@")
            assert child.env["PGPASSWORD"] == stack.database_passwords[service]
            assert stack.postgres is not None
            assert stack.postgres.password not in str(child.env)

    async def sessions() -> set[str]:
        conn = await asyncpg.connect(stack.database_url)
        try:
            rows = await conn.fetch(
                "SELECT DISTINCT usename FROM pg_stat_activity WHERE backend_type = "
                "'client backend' AND pid <> pg_backend_pid()"
            )
            return {r["usename"] for r in rows}
        finally:
            await conn.close()

    assert asyncio.run(sessions()) == {role(s) for s in SERVICES}


@pytest.mark.parametrize(
    ("service", "statement", "allowed"),
    [
        ("queue", "SELECT * FROM queue.job_secrets", True),
        ("queue", "SELECT id FROM approval.webhooks", False),
        ("queue", "SELECT * FROM scheduler.schedules", False),
        ("queue", "DELETE FROM artifact.artifacts", False),
        ("gateway", "SELECT * FROM queue.jobs", True),
        ("gateway", "SELECT * FROM queue.job_events", True),
        ("gateway", "SELECT * FROM queue.job_secrets", False),
        ("gateway", "SELECT id, url, events FROM approval.webhooks", True),
        ("gateway", "SELECT secret FROM approval.webhooks", False),
        ("gateway", "UPDATE queue.jobs SET title = 'changed'", False),
        ("gateway", "DELETE FROM queue.job_events", False),
        ("gateway", "INSERT INTO artifact.artifacts (id) VALUES (gen_random_uuid())", False),
        ("gateway", "CREATE TABLE public.squat (a int)", False),
        ("gateway", "CREATE SCHEMA squat", False),
        ("scheduler", "SELECT status FROM queue.jobs", True),
        ("scheduler", "SELECT runbook, variables FROM queue.jobs", False),
        ("scheduler", "SELECT * FROM queue.job_secrets", False),
        ("scheduler", "UPDATE queue.jobs SET status = 'cancelled'", False),
        ("approval", "SELECT title FROM queue.jobs", True),
        ("approval", "SELECT variables FROM queue.jobs", False),
        ("approval", "SELECT * FROM queue.job_secrets", False),
        ("artifact", "SELECT id FROM queue.jobs", True),
        ("artifact", "SELECT title FROM queue.jobs", False),
        ("artifact", "SELECT * FROM approval.deliveries", False),
        ("artifact", "CREATE TABLE public.squat (a int)", False),
    ],
)
def test_a_role_reaches_its_own_schema_and_only_what_is_published_for_it(
    stack: Stack, service: str, statement: str, allowed: bool
) -> None:
    assert may(stack, service, statement) is allowed


def test_the_database_grants_exactly_what_the_code_states(stack: Stack) -> None:
    """Every table of every schema, every role: owners hold their tables, a reader may select
    what READS lists (all columns or the ones named) and write nothing."""

    async def check() -> list[str]:
        conn = await asyncpg.connect(stack.database_url)
        wrong: list[str] = []
        try:
            tables = await conn.fetch(
                "SELECT n.nspname || '.' || c.relname AS name, c.relowner::regrole::text AS owner "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm')",
                list(OWNERS),
            )
            assert len(tables) > 20
            for table in tables:
                schema = table["name"].split(".")[0]
                if table["owner"] != role(schema):
                    wrong.append(f"{table['name']} is owned by {table['owner']}")
                for service in SERVICES:
                    if service == schema:
                        continue
                    cols = READS.get(service, {}).get(table["name"])
                    for right in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                        held = await conn.fetchval(
                            "SELECT has_table_privilege($1, $2, $3)",
                            role(service),
                            table["name"],
                            right,
                        )
                        expect = right == "SELECT" and cols == ()
                        if held != expect:
                            wrong.append(f"{role(service)} {right} {table['name']}: {held}")
                    for col in cols or ():
                        if not await conn.fetchval(
                            "SELECT has_column_privilege($1, $2, $3, 'SELECT')",
                            role(service),
                            table["name"],
                            col,
                        ):
                            wrong.append(f"{role(service)} cannot select {table['name']}.{col}")
        finally:
            await conn.close()
        return wrong

    assert asyncio.run(check()) == []


def _old_release_cluster(data_dir: Path) -> None:
    """A cluster as an earlier release left it: trust on loopback, every object owned by the
    superuser, and one shared ledger in ``public``."""
    postgres = EmbeddedPostgres(data_dir, data_dir / "logs", durable=True)
    postgres.pgdata.parent.mkdir(parents=True, exist_ok=True)
    postgres.log.parent.mkdir(parents=True, exist_ok=True)
    open_to_accounts(data_dir, bin_dir())
    postgres._create_cluster()
    postgres.launch()
    postgres.wait_ready(60)

    async def lay_out() -> None:
        dsn = f"postgresql://postgres@127.0.0.1:{postgres.port}/postgres"
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        assert pool is not None
        try:
            await pool.execute(
                "CREATE TABLE public.runwright_migrations (service text, version integer, "
                "name text, applied_at timestamptz DEFAULT now(), PRIMARY KEY (service, version))"
            )
            for service in OWNERS:
                await migrate(pool, service, f"runwright_{service}.migrations")
                await pool.execute(
                    f"INSERT INTO public.runwright_migrations SELECT '{service}', version, name, "
                    f"applied_at - interval '30 days' FROM {service}.runwright_migrations"
                )
                await pool.execute(f"DROP TABLE {service}.runwright_migrations")
        finally:
            await pool.close()

    try:
        asyncio.run(lay_out())
    finally:
        postgres.stop()
    (data_dir / "postgres-password").unlink(missing_ok=True)


@pytest.fixture(scope="module")
def upgraded() -> Iterator[Stack]:
    data_dir = new_data_dir()
    try:
        _old_release_cluster(data_dir)
        with running_stack(data_dir=data_dir) as stack:
            yield stack
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def test_a_cluster_from_an_earlier_release_is_switched_over_in_place(upgraded: Stack) -> None:
    assert upgraded.postgres is not None
    port = upgraded.postgres.port

    async def look() -> tuple[dict[str, int], set[str]]:
        with pytest.raises((asyncpg.InvalidPasswordError, asyncpg.ClientConfigurationError)):
            await asyncpg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres?password=")
        conn = await asyncpg.connect(upgraded.database_url)
        try:
            kept = {
                service: await conn.fetchval(
                    f"SELECT count(*) FROM {service}.runwright_migrations "
                    "WHERE applied_at < now() - interval '29 days'"
                )
                for service in OWNERS
            }
            owners = {
                r["owner"]
                for r in await conn.fetch(
                    "SELECT DISTINCT c.relowner::regrole::text AS owner FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'queue'"
                )
            }
            return kept, owners
        finally:
            await conn.close()

    kept, owners = asyncio.run(look())
    assert all(n > 0 for n in kept.values()), f"the old ledger was not carried over: {kept}"
    assert owners == {role("queue")}
    headers = {"Authorization": "Bearer test-admin-token"}
    with httpx.Client(base_url=upgraded.gateway_url, headers=headers, timeout=30) as api:
        demo = f"http://127.0.0.1:{upgraded.config.demo_port}"
        steps = [{"action": {"type": "navigate", "url": f"{demo}/login"}}]
        created = api.post("/api/v1/jobs", json={"runbook": runbook(steps, start_url=demo)})
        assert created.status_code == 201, created.text
        job = created.json()["id"]
        for _ in range(300):
            status = api.get(f"/api/v1/jobs/{job}").json()["status"]
            if status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.1)
        assert status == "completed"


def test_deploy_roles_sql_sets_up_a_database_the_services_then_migrate_as_themselves() -> None:
    """What compose and Kubernetes do: psql runs deploy/postgres/roles.sql as an admin, then each
    service migrates with its own login only."""
    data_dir = new_data_dir()
    postgres = EmbeddedPostgres(data_dir, data_dir / "logs", durable=False)
    postgres.start()
    passwords = {service: f"pw-{service}-'quoted'" for service in SERVICES}
    try:
        subprocess.run(
            [
                str(bin_dir() / "psql"),
                postgres.url,
                "-v",
                "ON_ERROR_STOP=1",
                *(f"-v{service}_password={pw}" for service, pw in passwords.items()),
                "-f",
                str(ROLES_SQL),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

        def as_role(service: str) -> str:
            return postgres.service_url(role(service)).replace(
                "@", f":{quote(passwords[service], safe='')}@", 1
            )

        async def run_services() -> tuple[bool, bool]:
            for service in OWNERS:
                pool = await asyncpg.create_pool(as_role(service), min_size=1, max_size=1)
                assert pool is not None
                try:
                    assert await migrate(pool, service, f"runwright_{service}.migrations")
                finally:
                    await pool.close()
            return await _may(as_role("scheduler"), "SELECT status FROM queue.jobs"), await _may(
                as_role("gateway"), "SELECT * FROM queue.job_secrets"
            )

        assert asyncio.run(run_services()) == (True, False)
    finally:
        postgres.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
