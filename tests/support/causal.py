"""Is a job's event stream in the order things happened? A check run over every job of every
stack the suite starts (see ``support.stack``), and by tests on a stream they read.

For each run of the job (from ``running`` until it is requeued or ends): a step starts only after
every step that started before it has finished; an approval request comes after the step before
it finished and after the job went ``waiting_for_approval``; no step event comes before the job
runs; the execution report comes just before the final status, and the final status is last.
Ids go 1, 2, 3, … without a gap.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg
import msgspec

TERMINAL = {"completed", "failed", "cancelled"}


class _Run:
    def __init__(self) -> None:
        self.running = False
        self.open_steps: set[int] = set()
        self.waiting = False


def _step(run: _Run, event: Mapping[str, Any]) -> str | None:
    ordinal, status = event["ordinal"], event["status"]
    if status in ("pending", "skipped"):
        run.open_steps.discard(ordinal)  # a requeue resets steps; an ended job skips the rest
        return None
    if not run.running:
        return f"step {ordinal + 1} is {status} before the job runs"
    if status == "running":
        earlier = sorted(o for o in run.open_steps if o < ordinal)
        run.open_steps.add(ordinal)
        if earlier:
            return f"step {ordinal + 1} started before step {earlier[0] + 1} finished"
    else:
        run.open_steps.discard(ordinal)
    return None


def _status(run: _Run, event: Mapping[str, Any]) -> None:
    status = event["status"]
    run.running = status in ("running", "paused", "waiting_for_approval")
    run.waiting = status == "waiting_for_approval"


def _approval(run: _Run, event: Mapping[str, Any]) -> str | None:
    if event.get("state") != "requested":
        return None
    ordinal = event["ordinal"]
    if not run.waiting:
        return f"the approval for step {ordinal + 1} came before the job waited for it"
    earlier = sorted(o for o in run.open_steps if o < ordinal)
    if earlier:
        return f"the approval for step {ordinal + 1} came before step {earlier[0] + 1} finished"
    return None


def violations(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """What is out of order in one job's events (each with ``seq``, ``type`` and its body)."""
    found: list[str] = []
    run = _Run()
    listed = list(events)
    for index, event in enumerate(listed):
        problem = None
        if event["seq"] != index + 1:
            problem = f"event {index + 1} has id {event['seq']}"
        elif event["type"] == "status":
            _status(run, event)
            if event["status"] in TERMINAL and index != len(listed) - 1:
                problem = f"events after the final status {event['status']}"
        elif event["type"] == "step":
            problem = _step(run, event)
        elif event["type"] == "approval":
            problem = _approval(run, event)
        elif event["type"] == "report":
            following = listed[index + 1] if index + 1 < len(listed) else None
            if not following or following["type"] != "status":
                problem = "the report is not followed by the final status"
        if problem:
            found.append(f"#{event['seq']} {problem}")
    return found


async def job_streams(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every job's events in the stack's database, in ``seq`` order."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT job_id, body FROM queue.job_events ORDER BY job_id, seq")
    finally:
        await conn.close()
    streams: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = str(uuid.UUID(str(row["job_id"])))
        streams.setdefault(key, []).append(msgspec.json.decode(row["body"]))
    return streams


async def unordered_jobs(database_url: str) -> dict[str, list[str]]:
    """Jobs whose streams are out of order, with what is wrong in each."""
    streams = await job_streams(database_url)
    return {job: found for job, events in streams.items() if (found := violations(events))}
