"""Submission rate limits per workspace and per credential, counted in PostgreSQL: they hold
across two gateway processes, and a refusal is a 429 with Retry-After naming which limit."""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import ExitStack

import asyncpg
import httpx
import pytest
from runwright_stack.stack import Stack
from support.runbooks import runbook
from test_job_list_api_e2e import later
from test_people_e2e import another_gateway

pytestmark = pytest.mark.e2e

LOW = {
    "RUNWRIGHT_SUBMIT_RATE_CALLER": "3",
    "RUNWRIGHT_SUBMIT_RATE_WORKSPACE": "5",
}


async def seconds_left_in_minute(stack: Stack) -> float:
    connection = await asyncpg.connect(stack.database_url)
    try:
        left: float = await connection.fetchval(
            "SELECT extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now())"
        )
        return float(left)
    finally:
        await connection.close()


def test_submissions_are_limited_per_credential_and_workspace_across_gateways(
    stack: Stack, demo_url: str
) -> None:
    slug = f"rate-{uuid.uuid4().hex[:8]}"
    admin = {"Authorization": f"Bearer {stack.token}", "X-Workspace": slug}
    with httpx.Client(base_url=stack.gateway_url, timeout=30, headers=admin) as installer:
        installer.headers.pop("X-Workspace")
        assert installer.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
        installer.headers["X-Workspace"] = slug
        keys = [
            installer.post("/api/v1/keys", json={"name": f"k{n}", "role": "member"}).json()["key"]
            for n in range(2)
        ]
    left = asyncio.run(seconds_left_in_minute(stack))
    if left < 12:  # the counts are per minute: start in a fresh one
        time.sleep(left + 0.5)
    document = {
        "runbook": runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    }
    with ExitStack() as opened:
        urls = [opened.enter_context(another_gateway(stack, **LOW)) for _ in range(2)]
        answers: list[tuple[int, httpx.Response]] = []
        for n, key in enumerate([keys[0]] * 4 + [keys[1]] * 2):
            with httpx.Client(
                base_url=urls[n % 2], timeout=30, headers={"Authorization": f"Bearer {key}"}
            ) as client:
                answers.append(
                    (n, client.post("/api/v1/jobs", json={**document, "run_at": later()}))
                )
    statuses = [answer.status_code for _, answer in answers]
    assert statuses == [201, 201, 201, 429, 201, 429], statuses
    assert "this credential may submit 3 jobs a minute" in answers[3][1].json()["detail"]
    assert "the workspace may submit 5 jobs a minute" in answers[5][1].json()["detail"]
    for _, refused in (answers[3], answers[5]):
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
    with httpx.Client(base_url=stack.gateway_url, timeout=30, headers=admin) as installer:
        for _, made in answers:
            if made.status_code == 201:
                installer.post(f"/api/v1/jobs/{made.json()['id']}/cancel")
