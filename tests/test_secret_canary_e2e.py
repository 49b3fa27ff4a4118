"""A canary run secret, used in fill steps and templates by jobs that complete, fail, are
cancelled and wait for an approval, is found nowhere afterwards: not in any API answer, and not
in one byte under the durable stack's data dir (PostgreSQL with its WAL after a checkpoint and a
WAL switch, the JetStream store, every log, the artifact store), in any encoding it could take."""

from __future__ import annotations

import asyncio
import base64
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import Event, read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e

CANARY = f"canary-{uuid.uuid4().hex}"
TYPE_IT = {
    "description": "Type {{pw}} into the email field",
    "action": {"type": "input", "selector": {"id": "email"}, "value": "x-{{pw}}-y"},
}


def forms(text: str) -> dict[str, bytes]:
    """The byte strings the secret could be written as."""
    raw = text.encode()
    found = {
        "utf-8": raw,
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "hex": raw.hex().encode(),
        "HEX": raw.hex().upper().encode(),
        "json \\u escapes": "".join(f"\\u{ord(c):04x}" for c in text).encode(),
    }
    for shift in range(3):  # base64 of the secret at each alignment inside a longer text
        encoded = base64.b64encode(b"\0" * shift + raw)[4 if shift else 0 : -4]
        found[f"base64+{shift}"] = encoded
        found[f"base64url+{shift}"] = encoded.replace(b"+", b"-").replace(b"/", b"_")
    return found


def leaks_in(root: Path) -> list[str]:
    core = CANARY.removeprefix("canary-")
    patterns = {**forms(CANARY), **{f"core {k}": v for k, v in forms(core).items()}}
    leaks = []
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink()):
        data = path.read_bytes()
        leaks += [f"{path.relative_to(root)}: {n}" for n, form in patterns.items() if form in data]
    return leaks


def submit(api: httpx.Client, steps: list[dict[str, Any]], demo: str) -> str:
    document = runbook(steps, start_url=demo, timeout_ms=1000)
    response = api.post(
        "/api/v1/jobs", json={"runbook": document, "variables": {}, "secrets": {"pw": CANARY}}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def until_status(api: httpx.Client, job: str, status: str) -> None:
    def reached(e: Event) -> bool:
        return e.event == "status" and e.data["status"] == status

    _, events = read_events(api, f"/api/v1/jobs/{job}/events", until=reached)
    assert reached(events[-1]), [e.data for e in events]


def run_jobs(api: httpx.Client, demo: str) -> dict[str, str]:
    navigate = {"action": {"type": "navigate", "url": "/login"}}
    jobs = {
        "completed": submit(api, [navigate, dict(TYPE_IT)], demo),
        "failed": submit(
            api,
            [navigate, {**TYPE_IT, "action": {**TYPE_IT["action"], "selector": {"id": "no"}}}],
            demo,
        ),
    }
    slow = [navigate, dict(TYPE_IT), {"action": {"type": "wait", "duration": 60000}}]
    jobs["cancelled"] = submit(api, slow, demo)
    until_status(api, jobs["cancelled"], "running")
    assert api.post(f"/api/v1/jobs/{jobs['cancelled']}/cancel").status_code == 200
    risky = {**TYPE_IT, "riskLevel": "high", "requiresConfirmation": True}
    jobs["approved"] = submit(api, [navigate, risky], demo)
    until_status(api, jobs["approved"], "waiting_for_approval")
    assert api.post(f"/api/v1/jobs/{jobs['approved']}/approve").status_code == 200
    for job in jobs.values():
        read_events(api, f"/api/v1/jobs/{job}/events")  # to the end of the job
    return jobs


def answers(api: httpx.Client, job: str) -> dict[str, str]:
    paths = ["", "/report", "/report.md", "/artifacts", "/events?after=0"]
    got = {path or "view": api.get(f"/api/v1/jobs/{job}{path}").text for path in paths}
    _, events = read_events(api, f"/api/v1/jobs/{job}/events")
    got["sse replay"] = repr([e.data for e in events])
    return got


async def end_the_wal(database_url: str, jobs: dict[str, str]) -> int:
    """Rows of these jobs' secrets left; then a checkpoint and a WAL switch."""
    conn = await asyncpg.connect(database_url)
    try:
        left: int = await conn.fetchval(
            "SELECT count(*) FROM queue.job_secrets WHERE job_id = ANY($1::uuid[])",
            list(jobs.values()),
        )
        await conn.execute("CHECKPOINT")
        await conn.fetchval("SELECT pg_switch_wal()")
    finally:
        await conn.close()
    return left


def test_a_canary_secret_appears_in_no_answer_and_in_no_byte_on_disk() -> None:
    leaks: list[str] = []
    with running_stack(durable=True, after_stop=lambda root: leaks.extend(leaks_in(root))) as s:
        with httpx.Client(
            base_url=s.gateway_url, timeout=30, headers={"Authorization": f"Bearer {s.token}"}
        ) as api:
            jobs = run_jobs(api, f"http://127.0.0.1:{s.config.demo_port}")
            statuses = {k: api.get(f"/api/v1/jobs/{j}").json()["status"] for k, j in jobs.items()}
            assert statuses == {
                "completed": "completed",
                "failed": "failed",
                "cancelled": "cancelled",
                "approved": "completed",
            }
            listing = api.get("/api/v1/jobs").text
            for name, job in jobs.items():
                for what, text in {**answers(api, job), "job list": listing}.items():
                    assert CANARY not in text, f"{name} job: {what}"
                    assert CANARY.removeprefix("canary-") not in text, f"{name} job: {what}"
        assert asyncio.run(end_the_wal(s.database_url, jobs)) == 0, "secrets outlived their jobs"
        assert_data_dir_is_real(s)
    assert not leaks, leaks


def assert_data_dir_is_real(stack: Stack) -> None:
    """The scan must see the places that matter, or finding nothing proves nothing."""
    root = stack.data_dir
    assert any((root / "postgres" / "pg_wal").iterdir())
    assert any(p.suffix == ".log" for p in (root / "logs").iterdir())
    assert any(p.is_file() for p in root.rglob("*") if "jetstream" in str(p))
