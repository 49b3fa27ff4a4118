"""The whole system on one machine: nats-server, PostgreSQL, the six services, the demo app.

Used by ``runwright run`` (``make run``) and by the end-to-end tests, so both run the same way.
Clustered (``StackConfig.cluster``, ``runwright run --cluster``): three nats-server nodes in one
JetStream cluster with every stream at three replicas, two replicas of each service but the
executor, three executors, the gateways on ``gateway_port`` and the port after it.
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
from runwright_db import roles
from runwright_db.migrate_all import migrate_all

from runwright_stack import priority
from runwright_stack.accounts import Account, drop_to, open_to_accounts, private_dir, system_account
from runwright_stack.nats_server import ClusterPlan, NatsServer
from runwright_stack.ports import free_port, port_in_use, wait_for_port
from runwright_stack.postgres import EmbeddedPostgres
from runwright_stack.processes import spawn, tail, terminate
from runwright_stack.supervision import Restarts

EGRESS_ALLOW = "RUNWRIGHT_EGRESS_ALLOW"
SERVICES = ("queue", "scheduler", "approval", "artifact", "executor", "gateway")
NO_DATABASE = frozenset({"executor"})
CLUSTER_NODES = 3
"""nats-server nodes in the clustered shape (and so each stream's replicas)."""
CLUSTER_REPLICAS = 2
"""Processes of each service but the executor in the clustered shape."""
CLUSTER_EXECUTORS = 3
REPLICAS_SETTING = "RUNWRIGHT_STREAM_REPLICAS"
DATABASE_LOGIN = ("RUNWRIGHT_DATABASE_URL", "DATABASE_URL", "PGPASSWORD", "PGPASSFILE", "PGUSER")
STORE_CREDENTIALS = ("RUNWRIGHT_S3_ACCESS_KEY", "RUNWRIGHT_S3_SECRET_KEY")
"""Only the artifact service holds object-store credentials."""
SECRETS_KEY = "RUNWRIGHT_SECRETS_KEY"
QUEUE_ONLY = (SECRETS_KEY, "RUNWRIGHT_SECRETS_OLD_KEYS")
"""Only the queue holds the keys that seal run secrets."""
BROWSER_USER = "runwright-browser"
"""As root, the executor (and so Chromium, sandboxed) runs as this system user."""
EXECUTOR_PACKAGES = (
    "runwright_executor",
    "runwright_engine",
    "runwright_bus",
    "runwright_common",
    "runwright_proto",
    "runwright_runbook",
    "playwright",
)
Progress = Callable[[str, str], None]


def _quiet(_: str, __: str) -> None:
    pass


@dataclass
class StackConfig:
    data_dir: Path
    gateway_port: int = 8080
    admin_token: str | None = None
    database_url: str | None = None
    demo_port: int | None = None
    executors: int | None = None
    """Executor processes; None: one, or three when clustered."""
    executor_slots: int = 2
    durable: bool = True
    env: dict[str, str] = field(default_factory=dict)
    cluster: bool = False
    """Three NATS nodes (streams at three replicas), two replicas of every other service."""

    @property
    def executor_count(self) -> int:
        if self.executors is not None:
            return self.executors
        return CLUSTER_EXECUTORS if self.cluster else 1

    def replicas(self, service: str) -> int:
        """Processes of ``service``."""
        if service == "executor":
            return self.executor_count
        return CLUSTER_REPLICAS if self.cluster else 1

    @property
    def gateway_ports(self) -> list[int]:
        """Where the gateways listen: ``gateway_port`` and, clustered, the port after it."""
        return [self.gateway_port + i for i in range(self.replicas("gateway"))]


def write_admin_token(path: Path) -> str:
    """A new admin token in ``path`` (mode 0600), replacing the file at once: a reader sees the
    old token or the new one, never a part."""
    token = "rw_" + secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(fresh, path)
    return token


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    account: Account | None = None
    """The system user it runs as (as root: the browser's own); None: as we run."""
    proc: subprocess.Popen[bytes] | None = None
    restarts: Restarts = field(default_factory=Restarts)
    health_port: int = 0
    """Where it serves /healthz, /readyz and /metrics (0: a child that is no service)."""

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.health_port}/metrics" if self.health_port else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


def child_name(config: StackConfig, service: str, index: int) -> str:
    """``queue``, ``executor-0``, ...; clustered, every service's replicas are numbered
    (``gateway-0``, ``gateway-1``, ...)."""
    return f"{service}-{index}" if service == "executor" or config.cluster else service


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir.resolve()
        self.log_dir = self.data_dir / "logs"
        self.nats_nodes = self._nats_nodes()
        self.nats = self.nats_nodes[0]
        """The first node (the only one unless clustered)."""
        self.postgres: EmbeddedPostgres | None = None
        self.children: dict[str, Child] = {}
        self.nats_restarts = [Restarts() for _ in self.nats_nodes]
        self.postgres_restarts = Restarts()
        self.database_passwords: dict[str, str] = {}
        self.token = ""

    def _nats_nodes(self) -> list[NatsServer]:
        durable = self.config.durable
        if not self.config.cluster:
            return [NatsServer(self.data_dir, self.log_dir, authorize=True, durable=durable)]
        plans = ClusterPlan.new(CLUSTER_NODES)
        first = NatsServer(
            self.data_dir, self.log_dir, authorize=True, cluster=plans[0], durable=durable
        )
        return [first] + [
            NatsServer(
                self.data_dir,
                self.log_dir,
                authorize=True,
                cluster=p,
                passwords=first.passwords,
                durable=durable,
            )
            for p in plans[1:]
        ]

    @property
    def nats_address(self) -> str:
        """Every node, comma-separated, without credentials (what services are given)."""
        return ",".join(node.address for node in self.nats_nodes)

    @property
    def nats_urls(self) -> list[str]:
        """Each node's administrator URL (every subject): for tools and tests; nats-py takes
        the list as ``servers``."""
        return [node.url for node in self.nats_nodes]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.config.gateway_port}"

    @property
    def gateway_urls(self) -> list[str]:
        """Every gateway (clustered: two, on ``gateway_port`` and the port after it)."""
        return [f"http://127.0.0.1:{port}" for port in self.config.gateway_ports]

    @property
    def metrics_urls(self) -> dict[str, str]:
        """Each service process's ``/metrics`` (by name: ``queue``, ``executor-0``, ...), for
        tests and a local Prometheus to scrape."""
        return {n: c.metrics_url for n, c in self.children.items() if c.health_port}

    @property
    def scrape_targets_path(self) -> Path:
        return self.data_dir / "prometheus-targets.json"

    def write_scrape_targets(self) -> None:
        """Every service's health port as Prometheus file-based discovery reads it
        (``file_sd_configs``), labelled ``process`` (``queue``, ``executor-0``, ...), for a local
        Prometheus to scrape."""
        targets = [
            {"targets": [f"127.0.0.1:{c.health_port}"], "labels": {"process": name}}
            for name, c in self.children.items()
            if c.health_port
        ]
        self.scrape_targets_path.write_text(json.dumps(targets, indent=2) + "\n")

    @property
    def database_url(self) -> str:
        if self.config.database_url:
            return self.config.database_url
        assert self.postgres is not None
        return self.postgres.url

    @property
    def admin_token_path(self) -> Path:
        return self.data_dir / "admin-token"

    def admin_token(self) -> str:
        if self.config.admin_token:
            return self.config.admin_token
        path = self.admin_token_path
        if path.exists():
            return path.read_text().strip()
        return write_admin_token(path)

    def secrets_key(self) -> str:
        """The queue's key for run secrets at rest: made on first start, kept in the data dir
        (mode 0600), handed to the queue alone. ``RUNWRIGHT_SECRETS_KEY`` set outright wins."""
        if key := os.environ.get(SECRETS_KEY) or self.config.env.get(SECRETS_KEY):
            return key
        path = self.data_dir / "secrets-key"
        if path.exists():
            return path.read_text().strip()
        key = f"{time.strftime('k%Y%m%d')}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
        path.touch(mode=0o600)
        path.write_text(key + "\n")
        return key

    def start(self, progress: Progress = _quiet, ready_timeout: float = 180) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for port in self.config.gateway_ports:
            if port_in_use(port):
                raise RuntimeError(
                    f"port {port} is in use; set RUNWRIGHT_GATEWAY_PORT to a free port"
                    + (
                        " (the gateways take it and the port after it)"
                        if self.config.cluster
                        else ""
                    )
                )
        self.token = self.admin_token()
        (self.data_dir / "api-url").write_text(self.gateway_url + "\n")  # for the runwright CLI
        started = time.monotonic()
        self._start_nats()
        if self.config.cluster:
            progress(
                "nats",
                f"NATS JetStream cluster of {len(self.nats_nodes)} nodes on {self.nats_address} "
                f"(streams at {len(self.nats_nodes)} replicas, a user per service) "
                f"({(time.monotonic() - started) * 1000:.0f} ms)",
            )
        else:
            progress(
                "nats",
                f"nats-server with JetStream on {self.nats.address} (a user per service) "
                f"({(time.monotonic() - started) * 1000:.0f} ms)",
            )
        self._start_postgres(progress)
        self._migrate(progress)
        for name in SERVICES:
            for index in range(self.config.replicas(name)):
                self._add_service(name, index)
        if self.config.demo_port:
            self._add_child(
                "demo",
                [sys.executable, "-m", "runwright_demo", "--port", str(self.config.demo_port)],
                dict(os.environ),
            )
        self.write_scrape_targets()
        for child in self.children.values():
            self._launch(child)
        self.wait_ready(progress, ready_timeout)

    def _start_nats(self, timeout: float = 30) -> None:
        """Every node; clustered, until JetStream answers (the nodes have met and chosen a
        leader), so the services' first stream declarations succeed."""
        for node in self.nats_nodes:
            node.launch()
        for node in self.nats_nodes:
            wait_for_port(node.port, 15)
        if self.config.cluster:
            jetstream_ready(self.nats_nodes, timeout)

    def _start_postgres(self, progress: Progress) -> None:
        if self.config.database_url:
            progress("postgres", "PostgreSQL from DATABASE_URL")
            return
        started = time.monotonic()
        self.postgres = EmbeddedPostgres(self.data_dir, self.log_dir, durable=self.config.durable)
        created = self.postgres.start()
        # A role per service, with a password made on each start (never written to disk).
        self.database_passwords = {s: secrets.token_urlsafe(24) for s in roles.SERVICES}
        asyncio.run(roles.provision(self.postgres.url, self.database_passwords))
        progress(
            "postgres",
            f"PostgreSQL on 127.0.0.1:{self.postgres.port} "
            f"({'new cluster' if created else 'existing data'}, passwords required, "
            f"a role per service, {(time.monotonic() - started) * 1000:.0f} ms)",
        )

    def _migrate(self, progress: Progress) -> None:
        """Every service's migrations, as its own role, before any service starts (the same code
        as ``runwright migrate``); the services then find nothing left to apply."""
        started = time.monotonic()
        applied = asyncio.run(migrate_all(self.database_url, self.config.env))
        count = sum(len(names) for names in applied.values())
        progress(
            "migrate",
            f"database migrations: {count} applied ({(time.monotonic() - started) * 1000:.0f} ms)",
        )

    def database_env(self, service: str) -> dict[str, str]:
        """Where ``service`` finds PostgreSQL: its own role (embedded), or ``DATABASE_URL``."""
        if self.postgres is None or service not in self.database_passwords:
            return {"RUNWRIGHT_DATABASE_URL": self.database_url}
        return {
            "RUNWRIGHT_DATABASE_URL": self.postgres.service_url(roles.role(service)),
            "PGPASSWORD": self.database_passwords[service],
        }

    def _add_service(self, name: str, index: int) -> None:
        env = dict(os.environ)
        env.update(
            {
                "RUNWRIGHT_NATS_URL": self.nats_address,
                **self.nats.credentials(name),
                "RUNWRIGHT_LOG_FORMAT": "json",
                "RUNWRIGHT_INSTANCE": child_name(self.config, name, index),
            }
        )
        if self.config.cluster:
            env[REPLICAS_SETTING] = str(len(self.nats_nodes))
        if name not in NO_DATABASE:
            env.update(self.database_env(name))
        if name in ("gateway", "artifact"):
            env.setdefault("RUNWRIGHT_ARTIFACT_DIR", str(self.data_dir / "artifacts"))
        if name == "gateway":
            env["RUNWRIGHT_GATEWAY_PORT"] = str(self.config.gateway_ports[index])
            if self.config.admin_token:
                env["RUNWRIGHT_ADMIN_TOKEN"] = self.token
            else:
                # The kept file, which ``runwright admin-token rotate`` replaces while it runs.
                env.pop("RUNWRIGHT_ADMIN_TOKEN", None)
                env["RUNWRIGHT_ADMIN_TOKEN_FILE"] = str(self.admin_token_path)
        account = None
        if name == "executor":
            env.setdefault("RUNWRIGHT_EXECUTOR_SLOTS", str(self.config.executor_slots))
            env.setdefault("RUNWRIGHT_DRAIN_GRACE_S", "10")
            account = self._browser_home(env, f"{name}-{index}")
        env.update(self.config.env)
        if name == "executor":
            env[EGRESS_ALLOW] = self.egress_allow(env.get(EGRESS_ALLOW, ""))
        if name != "artifact":
            for variable in STORE_CREDENTIALS:
                env.pop(variable, None)
        if name != "gateway":
            env.pop("RUNWRIGHT_ADMIN_TOKEN", None)
        if name == "queue":
            env[SECRETS_KEY] = self.secrets_key()
        else:
            for variable in QUEUE_ONLY:
                env.pop(variable, None)
        if name in NO_DATABASE:
            for variable in DATABASE_LOGIN:
                env.pop(variable, None)
        key = child_name(self.config, name, index)
        # Its own health port, whatever the environment says (one value would clash), kept
        # across restarts; the metrics are scraped there.
        env["RUNWRIGHT_HEALTH_PORT"] = str(self._health_port())
        self._add_child(key, [sys.executable, "-m", f"runwright_{name}"], env, account)
        self.children[key].health_port = int(env["RUNWRIGHT_HEALTH_PORT"])

    def _health_port(self) -> int:
        taken = {c.health_port for c in self.children.values()} | set(self.config.gateway_ports)
        while (port := free_port()) in taken or port == self.config.demo_port:
            pass
        return port

    def _browser_home(self, env: dict[str, str], key: str) -> Account | None:
        """As root: the executor's account, and a home, temporary and files directory only it
        may enter (``<data>/browser/<executor>``, mode 0700). It can read nothing else of ours:
        not the secrets key, the admin token or the PostgreSQL cluster."""
        account = system_account(BROWSER_USER)
        if account is None:
            env.setdefault("RUNWRIGHT_FILES_DIR", str(self.data_dir / "files"))
            return None
        home = private_dir(private_dir(self.data_dir / "browser", account) / key, account)
        env.update(
            {
                "HOME": str(home),
                "TMPDIR": str(private_dir(home / "tmp", account)),
                "XDG_CONFIG_HOME": str(private_dir(home / ".config", account)),
                "XDG_CACHE_HOME": str(private_dir(home / ".cache", account)),
            }
        )
        env["RUNWRIGHT_FILES_DIR"] = str(private_dir(home / "files", account))
        open_to_accounts(self.data_dir, *self._executor_code())
        return account

    @staticmethod
    def _executor_code() -> list[Path]:
        """What the executor's account must reach to run: the interpreter, the virtual
        environment and the packages it imports (editable installs live in the checkout)."""
        paths = [Path(sys.executable).resolve(), Path(sys.prefix), Path(sys.base_prefix)]
        for package in EXECUTOR_PACKAGES:
            spec = importlib.util.find_spec(package)
            if spec is not None and spec.origin:
                paths.append(Path(spec.origin).parent)
        return paths

    def egress_allow(self, configured: str) -> str:
        """The executor's egress allow-list: what was configured, plus the demo app."""
        demo = f"127.0.0.1:{self.config.demo_port}" if self.config.demo_port else ""
        return " ".join(part for part in (configured.strip(), demo) if part)

    def _add_child(
        self, name: str, argv: list[str], env: dict[str, str], account: Account | None = None
    ) -> None:
        self.children[name] = Child(name, argv, env, self.log_dir / f"{name}.log", account)

    def _launch(self, child: Child) -> None:
        if child.alive():
            return  # a test and the supervisor may both start it again
        argv, drop = child.argv, drop_to(child.account)
        if child.account is not None and (how := priority.available()) != "none":
            argv, drop = priority.as_account(argv, child.account, how), {}
        child.proc = spawn(argv, env=child.env, log=child.log, cwd=self.data_dir, **drop)
        child.restarts.started()

    def wait_ready(self, progress: Progress, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for port in self.config.gateway_ports:
            # A gateway that exits at start (its port taken, a bad setting) is reported at once
            # with its last lines, not after the whole timeout as a port nobody listens on.
            wait_for_port(port, timeout, while_waiting=self._check_alive)
        seen: set[str] = set()
        while True:
            self._check_alive()
            bodies = []
            for url in self.gateway_urls:
                try:
                    bodies.append(httpx.get(f"{url}/readyz", timeout=5).json())
                except (httpx.HTTPError, ValueError):
                    bodies.append({"services": {}, "ready": False})
            body = bodies[0]
            for name, info in body.get("services", {}).items():
                if info.get("ready") and name not in seen:
                    seen.add(name)
                    progress(name, f"{name} service ready")
            if all(b.get("ready") for b in bodies):
                if "gateway" not in seen:
                    progress("gateway", f"gateway ready on {', '.join(self.gateway_urls)}")
                if self.config.demo_port:
                    wait_for_port(self.config.demo_port, 30, while_waiting=self._check_alive)
                    progress("demo", f"demo app on http://127.0.0.1:{self.config.demo_port}")
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"services not ready after {timeout:g}s: {body}")
            time.sleep(0.1)

    def _check_alive(self) -> None:
        for child in self.children.values():
            if child.proc is not None and child.proc.poll() is not None:
                raise RuntimeError(
                    f"{child.name} exited with {child.proc.returncode} during "
                    f"start-up:\n{tail(child.log)}"
                )

    def supervise_once(self, progress: Progress = _quiet) -> None:
        """Start again what died: nats-server (each node) and PostgreSQL first (same port, same
        data), then
        the services; at once the first time, with back-off while something keeps dying."""
        for name, alive, launch, log, restarts in self._supervised():
            if alive():
                continue
            if restarts.due_at is None:
                delay = restarts.died()
                progress(
                    name,
                    f"{name} stopped; starting it again"
                    f"{f' in {delay:.1f} s' if delay else ''} (restart {restarts.count + 1})."
                    f" Last lines:\n{tail(log, 8)}",
                )
            if restarts.due():
                launch()
                restarts.restarted()

    def revive(self) -> None:
        """Start again at once whatever is not running (tests that killed something on purpose)."""
        for _, alive, launch, _, restarts in self._supervised():
            if not alive():
                launch()
                restarts.restarted()

    def supervise(
        self,
        stopping: Callable[[], bool],
        progress: Progress = _quiet,
        held: Callable[[], bool] = lambda: False,
    ) -> None:
        """Supervise until ``stopping()`` says so (``runwright run``'s loop); nothing restarts
        while ``held()``."""
        while not stopping():
            if not held():
                self.supervise_once(progress)
            time.sleep(0.25)

    def _supervised(
        self,
    ) -> list[tuple[str, Callable[[], bool], Callable[[], None], Path, Restarts]]:
        found: list[tuple[str, Callable[[], bool], Callable[[], None], Path, Restarts]] = [
            (
                f"nats-server {node.name}" if self.config.cluster else "nats-server",
                node.alive,
                node.launch,
                node.log,
                restarts,
            )
            for node, restarts in zip(self.nats_nodes, self.nats_restarts, strict=True)
        ]
        if self.postgres is not None:
            pg = self.postgres
            found.append(("PostgreSQL", pg.alive, pg.launch, pg.log, self.postgres_restarts))
        for child in self.children.values():
            found.append(
                (child.name, child.alive, partial(self._launch, child), child.log, child.restarts)
            )
        return found

    def service(self, name: str) -> Child:
        return self.children[name]

    def stop(self, grace_s: float = 20) -> None:
        terminate([c.proc for c in self.children.values() if c.proc is not None], grace_s)
        for node in self.nats_nodes:
            node.stop()
        if self.postgres is not None:
            self.postgres.stop()


def jetstream_ready(nodes: list[NatsServer], timeout: float) -> None:
    """Until every node's monitoring ``/healthz`` says ok: the nodes have met, chosen a JetStream
    meta leader and caught up."""
    deadline = time.monotonic() + timeout
    waiting = list(nodes)
    while waiting:
        node = waiting[0]
        try:
            if httpx.get(f"{node.monitor_url}/healthz", timeout=2).status_code == 200:
                waiting.pop(0)
                continue
            said = "not ready"
        except httpx.HTTPError as exc:
            said = str(exc) or type(exc).__name__
        if time.monotonic() > deadline:
            raise TimeoutError(f"NATS node {node.name} not ready after {timeout:g} s: {said}")
        time.sleep(0.1)
