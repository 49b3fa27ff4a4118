"""Workspace-stream fan-out: how fast one gateway gets each job event to N open consoles.

Each round opens N clients on ``GET /api/v1/events?types=status`` (plain sockets, HTTP parsed by
h11, so the clients cost little next to the gateway), then makes real events (scheduled jobs
submitted and cancelled) and measures, per client and event, the time from the event's creation
(its ``at``, stamped by the queue) to its arrival. Also counted: clients cut off, JetStream
consumers left once the clients closed, and the gateway's memory per idle client (PSS).

Baseline, in the same run against the same nats-server: NATS core fan-out of a timestamped
message from one publisher to N subscribers, each on its own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h11
import httpx
import nats
from runwright_proto import streams
from runwright_stack.stack import Stack

from tests.bench.stats import percentile, table
from tests.bench.submit_latency import RUNBOOK

CLIENTS = (100, 500, 1000, 2000)
JOBS = 15
"""Jobs submitted and cancelled per round: two status events each."""
GAP_S = 0.05


class Client:
    """One SSE client on a raw socket."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.token = token
        self.ready = asyncio.Event()
        self.latencies: list[float] = []
        self.closed_early = False
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, wanted: int) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        conn = h11.Connection(h11.CLIENT)
        request = h11.Request(
            method="GET",
            target="/api/v1/events?types=status",
            headers=[
                ("Host", "127.0.0.1"),
                ("Authorization", f"Bearer {self.token}"),
                ("Accept", "text/event-stream"),
            ],
        )
        self.writer.write(conn.send(request) or b"")
        buffer = b""
        try:
            while len(self.latencies) < wanted:
                chunk = await reader.read(65536)
                if not chunk:
                    self.closed_early = True
                    return
                conn.receive_data(chunk)
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        break
                    if isinstance(event, h11.Data):
                        buffer += bytes(event.data)
                    elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                        self.closed_early = True
                        return
                now = time.time()
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    if line.startswith(b"event: ready"):
                        self.ready.set()
                    elif line.startswith(b"data: {"):
                        data = json.loads(line[6:])
                        if data.get("type") == "status" and data.get("at"):
                            stamp = datetime.fromisoformat(data["at"]).timestamp()
                            self.latencies.append(now - stamp)
        finally:
            self.writer.close()


def pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


async def _consumers(stack: Stack) -> int:
    nc = await nats.connect(stack.nats.url)
    try:
        return (await nc.jetstream().stream_info(streams.EVENTS.name)).state.consumer_count
    finally:
        await nc.close()


async def gateway_round(stack: Stack, n: int) -> dict[str, float]:
    gateway = stack.children["gateway"].proc
    assert gateway is not None
    baseline_consumers = await _consumers(stack)
    idle_before = pss_kb(gateway.pid)
    clients = [Client(stack.config.gateway_port, stack.token) for _ in range(n)]
    tasks = [asyncio.create_task(c.run(JOBS * 2)) for c in clients]
    await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), 120)
    await asyncio.sleep(0.5)
    idle_after = pss_kb(gateway.pid)
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    headers = {"Authorization": f"Bearer {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.gateway_url, headers=headers) as api:
        for _ in range(JOBS):
            created = await api.post("/api/v1/jobs", json={"runbook": RUNBOOK, "run_at": later})
            created.raise_for_status()
            await asyncio.sleep(GAP_S)
            (await api.post(f"/api/v1/jobs/{created.json()['id']}/cancel")).raise_for_status()
            await asyncio.sleep(GAP_S)
    _, pending = await asyncio.wait(tasks, timeout=60)
    for task in pending:
        task.cancel()
    latencies = [x for c in clients for x in c.latencies]
    cut_off = sum(c.closed_early for c in clients) + len(pending)
    left = -1
    for _ in range(100):
        left = await _consumers(stack) - baseline_consumers
        if left <= 0:
            break
        await asyncio.sleep(0.1)
    return {
        "p50": percentile(latencies, 50) * 1000,
        "p99": percentile(latencies, 99) * 1000,
        "cut_off": cut_off,
        "left": left,
        "kb_per_client": (idle_after - idle_before) / n,
        "received": len(latencies) / (n * JOBS * 2),
    }


async def nats_round(url: str, n: int) -> dict[str, float]:
    subscribers = [await nats.connect(url) for _ in range(n)]
    latencies: list[float] = []
    everything = asyncio.Event()

    async def on_msg(msg: nats.aio.msg.Msg) -> None:
        latencies.append(time.time() - float(msg.data))
        if len(latencies) >= n * JOBS * 2:
            everything.set()

    try:
        for sub in subscribers:
            await sub.subscribe("bench.fanout", cb=on_msg)
            await sub.flush()
        publisher = await nats.connect(url)
        for _ in range(JOBS * 2):
            await publisher.publish("bench.fanout", str(time.time()).encode())
            await publisher.flush()
            await asyncio.sleep(GAP_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everything.wait(), 30)
        await publisher.close()
    finally:
        for sub in subscribers:
            await sub.close()
    return {"p50": percentile(latencies, 50) * 1000, "p99": percentile(latencies, 99) * 1000}


async def measure(stack: Stack, sizes: tuple[int, ...]) -> str:
    rows = []
    for n in sizes:
        ours = await gateway_round(stack, n)
        base = await nats_round(stack.nats.url, n)
        rows.append(
            (
                str(n),
                f"{ours['p50']:.1f} / {ours['p99']:.1f}",
                f"{base['p50']:.1f} / {base['p99']:.1f}",
                f"{ours['p99'] / base['p99']:.2f}" if base["p99"] > 0 else "-",
                f"{ours['received'] * 100:.1f} %",
                str(int(ours["cut_off"])),
                str(int(ours["left"])),
                f"{ours['kb_per_client']:.0f}",
            )
        )
    return table(
        "workspace stream fan-out on one gateway: event created -> on every client, ms",
        rows,
        (
            "clients",
            "Runwright p50 / p99",
            "NATS core p50 / p99",
            "p99 ratio",
            "received",
            "cut off",
            "consumers left",
            "gateway KB/idle client",
        ),
    )


def run(stack: Stack, sizes: tuple[int, ...] = CLIENTS) -> str:
    return asyncio.run(measure(stack, sizes))
