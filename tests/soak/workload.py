"""The soak's workload: jobs of every kind submitted over HTTP to random gateways, a bot that
decides approvals, pauses and resumes, cancels; followers of job streams and of the workspace
stream that reconnect to random gateways with ``Last-Event-ID``. Everything the clients were
told is recorded for the checker."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.soak.api import Api, GaveUp, SseEvent
from tests.support.runbooks import approval_runbook, runbook

TERMINAL = frozenset({"completed", "failed", "cancelled"})
WAITING = frozenset({"waiting_for_approval", "paused"})
KINDS = {"plain": 0.45, "approval": 0.12, "pause": 0.12, "cancel": 0.12, "batch": 0.07}
BATCH_ROWS = 3


def plain(demo: str) -> dict[str, Any]:
    return runbook(
        [
            {"action": {"type": "navigate", "url": "/login"}},
            {"action": {"type": "input", "selector": {"id": "email"}, "value": "op@example.com"}},
            {"action": {"type": "wait", "duration": 10}},
        ],
        start_url=demo,
        title="Soak: plain",
        timeout_ms=8000,
    )


def slow(demo: str, title: str) -> dict[str, Any]:
    """Long enough that a pause or a cancel finds it running."""
    return runbook(
        [
            {"action": {"type": "navigate", "url": "/login"}},
            {"action": {"type": "wait", "duration": 1200}},
            {"action": {"type": "wait", "duration": 1200}},
            {"action": {"type": "wait", "duration": 10}},
        ],
        start_url=demo,
        title=title,
        timeout_ms=8000,
    )


def batch(demo: str) -> dict[str, Any]:
    document = runbook(
        [
            {"description": "Open {{page}}", "action": {"type": "navigate", "url": "/{{page}}"}},
            {"action": {"type": "wait", "selector": {"id": "{{field}}"}}},
        ],
        start_url=demo,
        title="Soak: batch",
        timeout_ms=8000,
        variables={"page": {"source": "data"}, "field": {"source": "prompt"}},
    )
    document["dataSource"] = {"mapping": {"page": "Page", "field": "Field"}}
    return document


@dataclass
class JobFollower:
    job_id: str
    ids: list[int] = field(default_factory=list)
    connections: int = 0
    ended: bool = False
    """The server said the stream is over (204 after the last event)."""


@dataclass
class WorkspaceFollower:
    name: str
    positions: list[int] = field(default_factory=list)
    events: list[tuple[str, int]] = field(default_factory=list)
    """(job id, per-job seq) of each event received, in order."""
    start: int | None = None
    resets: int = 0
    connections: int = 0


@dataclass
class Records:
    jobs: dict[str, str] = field(default_factory=dict)
    """Every job id a 201 named → its kind."""
    batches: list[str] = field(default_factory=list)
    lost_answers: int = 0
    """Submissions whose answer was lost in a fault (retried: may have made a job too)."""
    gave_up: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    """Submissions answered 4xx (a bug: the workload sends valid requests)."""
    actions: Counter[str] = field(default_factory=Counter)
    """``action status`` of each decision the bot and the clients sent."""
    followers: list[JobFollower] = field(default_factory=list)
    workspace: list[WorkspaceFollower] = field(default_factory=list)


class Workload:
    def __init__(self, api: Api, demo: str, rng: random.Random, concurrency: int) -> None:
        self.api = api
        self.demo = demo
        self.rng = rng
        self.records = Records()
        self.slots = asyncio.Semaphore(concurrency)
        self.tasks: set[asyncio.Task[None]] = set()
        self.follow_tasks: set[asyncio.Task[None]] = set()
        self.stopping = asyncio.Event()
        self.follow_share = 0.3

    @property
    def submitted(self) -> int:
        return len(self.records.jobs)

    def spawn(self, coroutine: Any, into: set[asyncio.Task[None]]) -> None:
        task = asyncio.create_task(coroutine)
        into.add(task)
        task.add_done_callback(into.discard)

    async def next_job(self) -> None:
        """Wait for a free slot, then start one job of a random kind (a batch: several)."""
        await self.slots.acquire()
        kind = self.rng.choices(list(KINDS), list(KINDS.values()))[0]
        self.spawn(self._flow(kind), self.tasks)

    async def _flow(self, kind: str) -> None:
        try:
            await getattr(self, f"_{kind}")()
        except GaveUp as gave_up:
            self.records.gave_up[kind] += 1
            print(f"[workload] {kind}: gave up: {gave_up}", flush=True)
        finally:
            self.slots.release()

    async def submit(self, kind: str, body: dict[str, Any]) -> list[str]:
        def lost() -> None:
            self.records.lost_answers += 1

        response = await self.api.call("POST", "/api/v1/jobs", json_body=body, lost=lost)
        if response.status_code != 201:
            self.records.refused[f"{kind} {response.status_code}"] += 1
            print(f"[workload] {kind} refused: {response.status_code} {response.text[:300]}")
            return []
        created = response.json()
        if "jobs" in created:  # a batch
            self.records.batches.append(created["id"])
            ids = [job["id"] for job in created["jobs"]]
        else:
            ids = [created["id"]]
        for job_id in ids:
            self.records.jobs[job_id] = kind
            if self.rng.random() < self.follow_share:
                follower = JobFollower(job_id)
                self.records.followers.append(follower)
                self.spawn(self.follow_job(follower), self.follow_tasks)
        return ids

    async def status(self, job_id: str) -> str:
        job = await self.api.get_json(f"/api/v1/jobs/{job_id}")
        status: str = job["status"]
        return status

    async def until(self, job_id: str, wanted: frozenset[str], every_s: float = 0.5) -> str:
        while True:
            status = await self.status(job_id)
            if status in wanted:
                return status
            await asyncio.sleep(every_s)

    async def act(self, job_id: str, action: str) -> int:
        response = await self.api.call("POST", f"/api/v1/jobs/{job_id}/{action}")
        self.records.actions[f"{action} {response.status_code}"] += 1
        return response.status_code

    async def _plain(self) -> None:
        for job_id in await self.submit("plain", {"runbook": plain(self.demo)}):
            await self.until(job_id, TERMINAL, 1.0)

    async def _batch(self) -> None:
        rows = "Page,Field\n" + "login,email\n" * BATCH_ROWS
        body = {"runbook": batch(self.demo), "data": rows, "title": "Soak batch"}
        for job_id in await self.submit("batch", body):
            await self.until(job_id, TERMINAL, 1.0)

    async def _approval(self) -> None:
        """A bot decides: approve as soon as the job waits for it."""
        document = runbook(approval_runbook(), start_url=self.demo, title="Soak: approval")
        for job_id in await self.submit("approval", {"runbook": document}):
            while (status := await self.until(job_id, TERMINAL | WAITING)) not in TERMINAL:
                if status == "waiting_for_approval":
                    await self.act(job_id, "approve")
                await asyncio.sleep(0.5)

    async def _pause(self) -> None:
        for job_id in await self.submit("pause", {"runbook": slow(self.demo, "Soak: pause")}):
            status = await self.until(job_id, TERMINAL | {"running"}, 0.3)
            if status == "running" and await self.act(job_id, "pause") == 200:
                await asyncio.sleep(self.rng.uniform(1, 5))
            while (status := await self.until(job_id, TERMINAL | WAITING, 1.0)) not in TERMINAL:
                if status == "paused":
                    await self.act(job_id, "resume")
                await asyncio.sleep(0.5)

    async def _cancel(self) -> None:
        for job_id in await self.submit("cancel", {"runbook": slow(self.demo, "Soak: cancel")}):
            await asyncio.sleep(self.rng.uniform(0, 4))
            await self.act(job_id, "cancel")
            while (status := await self.until(job_id, TERMINAL | WAITING, 1.0)) not in TERMINAL:
                await self.act(job_id, "resume" if status == "paused" else "cancel")
                await asyncio.sleep(0.5)

    async def follow_job(self, follower: JobFollower) -> None:
        """Follow a job's stream to its end, dropping the connection now and then on purpose
        and resuming on a random gateway with the last id seen."""
        while not follower.ended and not self.stopping.is_set():
            follower.connections += 1
            budget = self.rng.randint(1, 8)  # events to read before hanging up on purpose
            last = follower.ids[-1] if follower.ids else None
            try:
                async with contextlib.aclosing(
                    self.api.events(f"/api/v1/jobs/{follower.job_id}/events", last)
                ) as stream:
                    async for item in stream:
                        if isinstance(item, int):
                            if item == 204:
                                follower.ended = True
                            elif item != 200:
                                await asyncio.sleep(0.5)
                            continue
                        follower.ids.append(item.id)
                        budget -= 1
                        if budget == 0:
                            break
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.3)

    async def follow_workspace(self, follower: WorkspaceFollower, ready: asyncio.Event) -> None:
        """Follow every job event of the workspace until stopped, moving to a random gateway
        every few seconds (and whenever the connection breaks)."""
        while not self.stopping.is_set():
            follower.connections += 1
            last = follower.positions[-1] if follower.positions else follower.start
            hang_up_at = time.monotonic() + self.rng.uniform(3, 12)
            try:
                async with contextlib.aclosing(self.api.events("/api/v1/events", last)) as stream:
                    async for item in stream:
                        if isinstance(item, int):
                            continue
                        self.on_workspace_event(follower, item, ready)
                        if time.monotonic() > hang_up_at or self.stopping.is_set():
                            break
            except (httpx.HTTPError, ValueError):
                await asyncio.sleep(0.3)

    @staticmethod
    def on_workspace_event(
        follower: WorkspaceFollower, event: SseEvent, ready: asyncio.Event
    ) -> None:
        if event.event == "ready":
            follower.start = event.id
            ready.set()
        elif event.event == "reset":
            follower.resets += 1
            follower.positions.append(event.id)
        else:
            follower.positions.append(event.id)
            follower.events.append((event.data["job_id"], int(event.data["seq"])))
