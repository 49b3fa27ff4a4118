"""The soak's checker: each property proved from PostgreSQL (read as the superuser) and from what
the clients recorded, with its figure; a property holds when its figure is 0."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from tests.soak.api import Api
from tests.soak.receiver import Receiver
from tests.soak.workload import TERMINAL, WAITING, Records

SCHEDULE_LABEL = "runwright.schedule"


@dataclass
class Property:
    name: str
    figure: int
    of: str = ""
    """What was checked (``of 812 jobs``)."""
    examples: list[str] = field(default_factory=list)

    @property
    def holds(self) -> bool:
        return self.figure == 0


@dataclass
class Findings:
    properties: list[Property] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    """Figures that are no pass/fail (jobs by status, retries, repeats dropped)."""

    def add(self, name: str, bad: list[Any] | int, of: str = "") -> None:
        figure = bad if isinstance(bad, int) else len(bad)
        examples = [] if isinstance(bad, int) else [str(b) for b in bad[:5]]
        self.properties.append(Property(name, figure, of, examples))

    @property
    def ok(self) -> bool:
        return all(p.holds for p in self.properties)


@dataclass
class Scope:
    """What the soak made, for the checker to look at."""

    since: datetime
    webhook_id: str
    schedule_id: str
    schedule_from: datetime
    """The first minute the schedule should fire at."""
    schedule_until: datetime
    """When it was paused: every minute before it must have fired, once."""


async def check(
    database_url: str, api: Api, records: Records, receiver: Receiver, scope: Scope
) -> Findings:
    found = Findings()
    conn = await asyncpg.connect(database_url)
    try:
        jobs = {
            str(r["id"]): r
            for r in await conn.fetch(
                "SELECT id, status, event_seq, labels, "
                "  lease_expires_at IS NOT NULL AND lease_expires_at < now() AS expired "
                "FROM queue.jobs WHERE workspace = 'default' AND created_at >= $1",
                scope.since,
            )
        }
        events: dict[str, list[tuple[int, str, dict[str, Any]]]] = defaultdict(list)
        for r in await conn.fetch(
            "SELECT e.job_id, e.seq, e.type, e.body FROM queue.job_events e "
            "JOIN queue.jobs j ON j.id = e.job_id "
            "WHERE j.workspace = 'default' AND j.created_at >= $1 ORDER BY e.job_id, e.seq",
            scope.since,
        ):
            events[str(r["job_id"])].append((r["seq"], r["type"], json.loads(r["body"])))
        _jobs(found, records, jobs)
        _sequences(found, jobs, events)
        _followers(found, records, events)
        deliveries = await conn.fetch(
            "SELECT id, event_key, event, status FROM approval.deliveries WHERE webhook_id = $1",
            scope.webhook_id,
        )
        _webhooks(found, events, deliveries, receiver)
        occurrences = await conn.fetch(
            "SELECT fire_at, outcome, job_id FROM scheduler.occurrences WHERE schedule_id = $1 "
            "ORDER BY fire_at",
            scope.schedule_id,
        )
        _schedule(found, jobs, occurrences, scope)
        table = Counter(r["status"] for r in jobs.values())
        everything = {
            r["status"]: r["n"]
            for r in await conn.fetch(
                "SELECT status, count(*) AS n FROM queue.jobs WHERE workspace = 'default' "
                "GROUP BY status"
            )
        }
    finally:
        await conn.close()
    counts = await api.get_json("/api/v1/jobs/counts")
    wrong = [
        f"{status}: endpoint {n}, table {everything.get(status, 0)}"
        for status, n in counts["by_status"].items()
        if n != everything.get(status, 0)
    ]
    if counts["total"] != sum(everything.values()):
        wrong.append(f"total: endpoint {counts['total']}, table {sum(everything.values())}")
    found.add(
        "counts endpoint differs from the table", wrong, f"of {len(counts['by_status'])} statuses"
    )
    found.facts["jobs by status"] = dict(sorted(table.items()))
    return found


def _jobs(found: Findings, records: Records, jobs: dict[str, Any]) -> None:
    lost = [job_id for job_id in records.jobs if job_id not in jobs]
    found.add("jobs lost (a 201 with no job)", lost, f"of {len(records.jobs)} answered 201")
    stuck = [
        f"{job_id} {r['status']}{' (lease expired)' if r['expired'] else ''}"
        for job_id, r in jobs.items()
        if r["status"] not in TERMINAL | WAITING
    ]
    found.add("jobs stuck (neither finished nor waiting for a person)", stuck, f"of {len(jobs)}")
    found.facts["jobs waiting for a person"] = sum(r["status"] in WAITING for r in jobs.values())
    found.facts["jobs not made by the clients (schedule, lost answers)"] = len(
        set(jobs) - set(records.jobs)
    )


def _sequences(
    found: Findings, jobs: dict[str, Any], events: dict[str, list[tuple[int, str, dict[str, Any]]]]
) -> None:
    gaps, repeated = [], []
    for job_id, row in jobs.items():
        seqs = [seq for seq, _, _ in events.get(job_id, [])]
        if seqs != list(range(1, row["event_seq"] + 1)):
            gaps.append(f"{job_id}: {seqs[:3]}..{seqs[-3:]} event_seq {row['event_seq']}")
        attempt = 0
        seen: Counter[tuple[int, int, str]] = Counter()
        for _, kind, body in events.get(job_id, []):
            if kind == "status" and body.get("status") == "queued":
                attempt += 1  # queued again: a new attempt (an executor was lost)
            elif kind == "step":
                seen[(attempt, body["ordinal"], body["status"])] += 1
        repeated += [
            f"{job_id} attempt {a} step {o} {s} x{n}" for (a, o, s), n in seen.items() if n > 1
        ]
    found.add("event sequences with a gap", gaps, f"of {len(jobs)} jobs")
    found.add("steps recorded twice within an attempt", repeated, f"of {len(jobs)} jobs")


def _followers(
    found: Findings, records: Records, events: dict[str, list[tuple[int, str, dict[str, Any]]]]
) -> None:
    lost, repeated, unfinished = [], [], []
    for follower in records.followers:
        table = [seq for seq, _, _ in events.get(follower.job_id, [])]
        got = Counter(follower.ids)
        lost += [f"{follower.job_id} #{seq}" for seq in table if seq not in got]
        repeated += [f"{follower.job_id} #{seq} x{n}" for seq, n in got.items() if n > 1]
        if not follower.ended:
            unfinished.append(follower.job_id)
    received = sum(len(f.ids) for f in records.followers)
    of = f"of {received} events, {len(records.followers)} job streams"
    found.add("SSE job streams: events lost", lost, of)
    found.add("SSE job streams: events duplicated", repeated, of)
    found.add("SSE job streams never told the job ended", unfinished, of)
    found.facts["SSE job-stream connections"] = sum(f.connections for f in records.followers)
    expected = Counter((job_id, seq) for job_id, rows in events.items() for seq, _, _ in rows)
    for stream in records.workspace:
        heard = Counter(stream.events)
        of = f"of {sum(expected.values())} events"
        found.add(
            f"SSE workspace stream {stream.name}: events lost",
            [f"{j} #{s}" for j, s in expected if (j, s) not in heard],
            of,
        )
        found.add(
            f"SSE workspace stream {stream.name}: events duplicated",
            [f"{j} #{s} x{n}" for (j, s), n in heard.items() if n > 1]
            + [f"position {p} x{n}" for p, n in Counter(stream.positions).items() if n > 1],
            of,
        )
        found.add(f"SSE workspace stream {stream.name}: resets", stream.resets)
        found.facts[f"SSE workspace stream {stream.name} connections"] = stream.connections


def _webhooks(
    found: Findings,
    events: dict[str, list[tuple[int, str, dict[str, Any]]]],
    deliveries: list[Any],
    receiver: Receiver,
) -> None:
    expected = {
        f"{job_id}:{seq}"
        for job_id, rows in events.items()
        for seq, kind, body in rows
        if (kind == "status" and body.get("status") in TERMINAL)
        or (kind == "approval" and body.get("state") == "requested")
    }
    recorded = {r["event_key"]: r for r in deliveries}
    found.add(
        "webhook events with no delivery",
        sorted(expected - set(recorded)),
        f"of {len(expected)} events",
    )
    found.add(
        "webhook deliveries not delivered",
        [f"{r['event_key']} {r['status']}" for r in deliveries if r["status"] != "delivered"],
        f"of {len(deliveries)} deliveries",
    )
    ids = {str(r["id"]) for r in deliveries if r["status"] == "delivered"}
    found.add(
        "webhook deliveries the receiver never got",
        sorted(ids - set(receiver.calls)),
        f"of {len(ids)} delivered",
    )
    found.add(
        "webhook calls without a delivery id, or one not in the table",
        receiver.unnamed + len(set(receiver.calls) - {str(r["id"]) for r in deliveries}),
        f"of {sum(receiver.calls.values())} calls",
    )
    found.facts["webhook calls received / distinct delivery ids (repeats dropped)"] = (
        f"{sum(receiver.calls.values())} / {len(receiver.calls)}"
    )


def _schedule(found: Findings, jobs: dict[str, Any], occurrences: list[Any], scope: Scope) -> None:
    by_minute = Counter(r["fire_at"] for r in occurrences)
    fired = [r for r in occurrences if r["outcome"] == "fired"]
    job_ids = Counter(str(r["job_id"]) for r in fired)
    made = [
        j for j, r in jobs.items() if _labels(r["labels"]).get(SCHEDULE_LABEL) == scope.schedule_id
    ]
    twice = [f"{at.isoformat()} x{n}" for at, n in by_minute.items() if n > 1]
    twice += [f"job {j} x{n}" for j, n in job_ids.items() if n > 1]
    twice += [f"job {j} fired by no occurrence" for j in made if j not in job_ids]
    minutes = []
    at = scope.schedule_from
    while at < scope.schedule_until:
        minutes.append(at)
        at += timedelta(minutes=1)
    done = {r["fire_at"] for r in fired}
    missed = [f"{m.isoformat()} {_outcome(occurrences, m)}" for m in minutes if m not in done]
    of = f"of {len(minutes)} minutes"
    found.add("schedule occurrences fired twice", twice, of)
    found.add("schedule occurrences not fired", missed, of)


def _outcome(occurrences: list[Any], minute: datetime) -> str:
    for r in occurrences:
        if r["fire_at"] == minute:
            return f"{r['outcome']}"
    return "no occurrence"


def _labels(value: str | dict[str, str] | None) -> dict[str, str]:
    """A jsonb column as asyncpg hands it over without a codec (text), or decoded."""
    if isinstance(value, str):
        decoded: dict[str, str] = json.loads(value)
        return decoded
    return value or {}
