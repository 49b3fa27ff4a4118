"""The fault driver: every 10 to 20 seconds (seeded), one fault: a service process killed with
SIGKILL (any replica), a nats-server node killed (one at a time, never while another is down),
PostgreSQL restarted (once), or an executor drained with SIGTERM and started again later. The
stack's supervision (``Stack.supervise_once`` on a thread) starts again what was killed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field

from runwright_stack.stack import Child, Stack

from tests.soak import stack_hooks

KILL = "SIGKILL a service process"
NATS = "SIGKILL a nats-server node"
POSTGRES = "restart PostgreSQL"
DRAIN = "SIGTERM an executor (drain), start it later"


@dataclass
class Fault:
    at_s: float
    kind: str
    target: str
    detail: str = ""


@dataclass
class FaultDriver:
    stack: Stack
    rng: random.Random
    interval_s: tuple[float, float] = (10.0, 20.0)
    started: float = field(default_factory=time.monotonic)
    log: list[Fault] = field(default_factory=list)
    postgres_at: int = 4
    """The fault number at which PostgreSQL restarts (once)."""
    plan: list[str] = field(default_factory=list)
    """Faults to inject first, in order, to repeat a run: a service's name (``approval``,
    ``gateway-1``), ``postgres``, ``nats-<i>`` or ``drain:<executor>``."""

    @property
    def counts(self) -> Counter[str]:
        return Counter(f.kind for f in self.log)

    def say(self, fault: Fault) -> None:
        self.log.append(fault)
        wall = time.strftime("%H:%M:%S", time.gmtime())
        print(
            f"[fault +{fault.at_s:6.1f}s {wall}Z] {fault.kind}: {fault.target} {fault.detail}",
            flush=True,
        )

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*self.interval_s))
                return
            await asyncio.to_thread(self.inject)

    def inject(self) -> None:
        at = time.monotonic() - self.started
        number = len(self.log)
        if self.plan:
            self.planned(at, self.plan.pop(0))
            return
        if number == self.postgres_at and self.stack.postgres is not None:
            self.say(Fault(at, POSTGRES, "postgres", self.restart_postgres()))
            return
        nodes = stack_hooks.nats_nodes(self.stack)
        every_node_up = all(n.alive() for n in nodes)
        nats_faults = self.counts[NATS]
        # Clustered: one node now and then (never two down at once). Single node: the whole bus
        # goes down, so rarely (at most one fault in eight).
        nats_weight = 0.2 if len(nodes) > 1 else (0.12 if nats_faults * 8 <= number else 0.0)
        weights = {KILL: 0.65, DRAIN: 0.15, NATS: nats_weight if every_node_up else 0.0}
        kind = self.rng.choices(list(weights), list(weights.values()))[0]
        if kind == NATS:
            index = self.rng.randrange(len(nodes))
            nodes[index].kill()
            self.say(Fault(at, NATS, f"nats-{index}", f"({len(nodes)} node(s))"))
            return
        if kind == DRAIN:
            up = [c for c in stack_hooks.executors(self.stack).values() if c.alive()]
            if up:
                self.drain(at, self.rng.choice(up))
                return
        up = [c for c in stack_hooks.services(self.stack).values() if c.alive()]
        self.kill(at, self.rng.choice(up))

    def planned(self, at: float, target: str) -> None:
        if target == "postgres":
            self.say(Fault(at, POSTGRES, "postgres", self.restart_postgres()))
        elif target.startswith("nats-"):
            stack_hooks.nats_nodes(self.stack)[int(target.removeprefix("nats-"))].kill()
            self.say(Fault(at, NATS, target))
        elif target.startswith("drain:"):
            self.drain(at, self.stack.children[target.removeprefix("drain:")])
        else:
            self.kill(at, self.stack.children[target])

    def drain(self, at: float, child: Child) -> None:
        down_s = self.rng.uniform(15, 30)
        # The supervisor starts a dead process again once its restart is due: due in down_s,
        # so the executor stays scaled down that long, then comes back.
        child.restarts.due_at = time.monotonic() + down_s
        assert child.proc is not None
        child.proc.send_signal(signal.SIGTERM)
        self.say(Fault(at, DRAIN, child.name, f"(back in {down_s:.0f} s)"))

    def kill(self, at: float, child: Child) -> None:
        assert child.proc is not None
        pid = child.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)  # the process and what it started (Chromium)
        self.say(Fault(at, KILL, child.name, f"(pid {pid})"))

    def restart_postgres(self) -> str:
        postgres = self.stack.postgres
        assert postgres is not None
        restart = getattr(postgres, "restart", None)
        if restart is not None:
            restart()
            return "(restart)"
        # A fast shutdown; the supervisor starts it again on the same port and data.
        postgres.stop()
        deadline = time.monotonic() + 60
        while not postgres.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        return "(fast shutdown, started again by the supervisor)"
