"""The embedded PostgreSQL: a cluster in a 0700 data dir, a restart after SIGKILL even when the
lock file it left names a live process that is not PostgreSQL, and a restart from a thread that
then ends (the chaos soak's fault driver restarts it from an ``asyncio.to_thread`` worker)."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from runwright_stack.accounts import drop_to
from runwright_stack.postgres import EmbeddedPostgres
from support.stack import new_data_dir
from support.threads import wait_until_thread_ended


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = new_data_dir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o700, "as mktemp -d makes it"
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def count_rows(url: str) -> int:
    async def query() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM kept"))
        finally:
            await conn.close()

    return asyncio.run(query())


def test_a_cluster_killed_with_sigkill_starts_again_on_its_port_with_its_data(
    data_dir: Path,
) -> None:
    postgres = EmbeddedPostgres(data_dir, data_dir / "logs", durable=True)
    assert postgres.start() is True
    try:
        asyncio.run(_create(postgres.url))
        assert postgres.proc is not None
        postgres.kill()
        assert not postgres.alive()
        lock = postgres.pgdata / "postmaster.pid"
        assert lock.exists(), "SIGKILL leaves the lock file behind"
        # The dead server's pid now belongs to something else that is alive, running as the
        # same user (PostgreSQL can signal it, so it would think its old server still runs).
        squatter = subprocess.Popen(["sleep", "60"], **drop_to(postgres.account))
        try:
            lines = lock.read_text().splitlines()
            lock.write_text("\n".join([str(squatter.pid), *lines[1:]]) + "\n")
            postgres.launch()
            postgres.wait_ready(30)
            assert postgres.alive()
            assert count_rows(postgres.url) == 3
        finally:
            squatter.kill()
            squatter.wait()
    finally:
        postgres.stop()
    assert not postgres.alive()


async def _create(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE kept AS SELECT generate_series(1, 3) AS n")
    finally:
        await conn.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the cluster to a system user")
def test_as_root_the_cluster_runs_in_a_group_of_its_own_and_only_searches_the_data_dir(
    data_dir: Path,
) -> None:
    postgres = EmbeddedPostgres(data_dir, data_dir / "logs")
    postgres.start()
    try:
        assert postgres.proc is not None
        status = Path(f"/proc/{postgres.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        gids = {int(g) for g in fields["Groups"].split()} | {int(fields["Gid"].split()[0])}
        assert 0 not in gids, "root's group is not kept"
        mode = stat.S_IMODE(data_dir.stat().st_mode)
        assert mode & 0o007 == 0, "others get nothing on the data dir"
        assert mode & 0o040 == 0, "the shared group may search it, not list it"
    finally:
        postgres.stop()


def test_a_restart_from_a_thread_that_then_ends_goes_on_taking_new_sessions(
    data_dir: Path,
) -> None:
    """Issue 16: the server the restart started was sent the parent-death signal when the thread
    that started it ended; SIGTERM is PostgreSQL's smart shutdown, so it refused every new session
    ("the database system is shutting down") and waited for the services' pooled ones, forever."""
    postgres = EmbeddedPostgres(data_dir, data_dir / "logs", durable=False)
    postgres.start()
    try:
        restarted, release = threading.Event(), threading.Event()

        def restart_then_end() -> None:
            postgres.restart()
            restarted.set()
            release.wait(30)

        thread = threading.Thread(target=restart_then_end, name="fault driver")
        thread.start()
        assert restarted.wait(60)
        server = postgres.proc

        async def sessions() -> None:
            held = await asyncpg.connect(postgres.url)  # as a service's pool holds one
            try:
                release.set()
                await asyncio.to_thread(wait_until_thread_ended, thread)
                fresh = await asyncpg.connect(postgres.url)
                try:
                    assert await fresh.fetchval("SELECT 1") == 1
                finally:
                    await fresh.close()
                assert await held.fetchval("SELECT 1") == 1
            finally:
                await held.close()

        asyncio.run(sessions())
        assert postgres.proc is server
        assert postgres.alive()
        # By the time that session answered, a shutdown request would have been logged.
        requests = [
            line for line in postgres.log.read_text().splitlines() if "shutdown request" in line
        ]
        assert len(requests) == 1, f"only the restart's own fast shutdown: {requests}"
    finally:
        postgres.stop()
