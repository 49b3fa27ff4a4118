"""A real stack whose executors are simulated (``tests.support.sim_executor``): the gateway,
queue, scheduler, approval and artifact services, nats-server and PostgreSQL run as usual
(``executors=0``), and N simulated executor processes sign in to NATS as the executor."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from runwright_stack.processes import spawn, terminate
from runwright_stack.stack import DATABASE_LOGIN, Progress, Stack, StackConfig


@dataclass
class FleetConfig:
    processes: int = 2
    slots: int = 500
    """Jobs each process runs at once."""
    step_ms: float = 200.0
    jitter_ms: float = 50.0
    lease_ms: int = 6_000
    """The executor's shipped lease and renewal period (``RUNWRIGHT_LEASE_MS``)."""
    renew_ms: int = 1_500
    """``RUNWRIGHT_LEASE_RENEW_MS``: at most a third of the lease."""
    renew: str = "batch"
    """``batch`` (the executor's: all of a process's jobs in one request per period) or
    ``per_job`` (one request per job and period, as the previous release)."""


@dataclass
class Fleet:
    config: FleetConfig
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sample_files: list[Path] = field(default_factory=list)
    _read: dict[Path, int] = field(default_factory=dict)

    def start(self, stack: Stack) -> None:
        for index in range(self.config.processes):
            samples = stack.data_dir / f"sim-{index}.samples"
            samples.touch()
            env = dict(os.environ)
            for variable in DATABASE_LOGIN:
                env.pop(variable, None)
            env.update(
                {
                    "RUNWRIGHT_NATS_URL": stack.nats.address,
                    **stack.nats.credentials("executor"),
                    "RUNWRIGHT_LOG_FORMAT": "json",
                    "RUNWRIGHT_LOG_LEVEL": "warning",
                    "RUNWRIGHT_INSTANCE": f"sim-executor-{index}",
                    "RUNWRIGHT_HEALTH_PORT": "0",
                    "RUNWRIGHT_SIM_SLOTS": str(self.config.slots),
                    "RUNWRIGHT_SIM_STEP_MS": str(self.config.step_ms),
                    "RUNWRIGHT_SIM_JITTER_MS": str(self.config.jitter_ms),
                    "RUNWRIGHT_LEASE_MS": str(self.config.lease_ms),
                    "RUNWRIGHT_LEASE_RENEW_MS": str(self.config.renew_ms),
                    "RUNWRIGHT_SIM_RENEW": self.config.renew,
                    "RUNWRIGHT_SIM_SAMPLES": str(samples),
                }
            )
            self.procs.append(
                spawn(
                    [sys.executable, "-m", "tests.support.sim_executor"],
                    env=env,
                    log=stack.log_dir / f"sim-executor-{index}.log",
                    cwd=Path.cwd(),
                )
            )
            self.sample_files.append(samples)

    def stop(self) -> None:
        terminate(self.procs, 10)

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.poll() is None]

    def new_samples(self) -> dict[str, list[tuple[float, float]]]:
        """Samples written since the last call, by kind: (wall time, value)."""
        found: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for path in self.sample_files:
            with path.open("rb") as handle:
                handle.seek(self._read.get(path, 0))
                data = handle.read()
            complete = data[: data.rfind(b"\n") + 1]
            self._read[path] = self._read.get(path, 0) + len(complete)
            for line in complete.decode().splitlines():
                kind, at, value = line.split()
                found[kind].append((float(at), float(value)))
        return found


class SimulatedStack(Stack):
    """The stack with ``executors=0`` and a fleet of simulated executors, started before the
    gateway's readiness is awaited (the fleet is what answers for the executor)."""

    def __init__(self, config: StackConfig, fleet: FleetConfig) -> None:
        config.executors = 0
        super().__init__(config)
        self.fleet = Fleet(fleet)

    def wait_ready(self, progress: Progress, timeout: float) -> None:
        if not self.fleet.procs:
            self.fleet.start(self)
            progress("executor", f"{self.fleet.config.processes} simulated executors started")
        super().wait_ready(progress, timeout)

    def stop(self, grace_s: float = 20) -> None:
        self.fleet.stop()
        super().stop(grace_s)
