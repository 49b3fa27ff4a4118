"""Who may do what, through the real gateway: the permission table covers every operation, each
role is refused what it may not do, API keys are shown once and stored as digests, revoking and
expiry take effect on the next call, and a workspace sees only its own jobs, events, schedules
and webhooks."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from runwright_gateway.permissions import RULES, Role, markdown
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.sse import read_events

pytestmark = pytest.mark.e2e

ROLES = ("viewer", "member", "developer", "admin", "owner")


def client(stack: Stack, token: str, workspace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-Workspace"] = workspace
    return httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers)


def new_workspace(api: httpx.Client) -> str:
    slug = f"ws-{uuid.uuid4().hex[:10]}"
    response = api.post("/api/v1/workspaces", json={"slug": slug, "name": f"Team {slug}"})
    assert response.status_code == 201, response.text
    return slug


def new_key(api: httpx.Client, role: str, **extra: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/keys", json={"name": f"{role}-{uuid.uuid4().hex[:6]}", "role": role, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def team(stack: Stack) -> tuple[str, dict[str, str]]:
    """A fresh workspace and a key of every role in it: (slug, role -> key)."""
    with client(stack, stack.token) as admin:
        slug = new_workspace(admin)
    with client(stack, stack.token, slug) as installer:
        keys = {role: new_key(installer, role)["key"] for role in ROLES}
    return slug, keys


def later() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


def scheduled_job(api: httpx.Client, demo_url: str, title: str) -> dict[str, Any]:
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    document["title"] = title
    response = api.post("/api/v1/jobs", json={"runbook": document, "run_at": later()})
    assert response.status_code == 201, response.text
    job: dict[str, Any] = response.json()
    return job


def test_every_operation_in_the_api_document_has_a_rule(stack: Stack) -> None:
    document = httpx.get(f"{stack.gateway_url}/api/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert operations, "the document lists no operations"
    assert operations - set(RULES) == set(), "operations without a permission rule"
    assert set(RULES) - operations == set(), "rules for operations that do not exist"


def test_the_readme_shows_the_permission_table_the_gateway_enforces() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    shown = readme.split("<!-- permissions:start -->\n", 1)[1].split("<!-- permissions:end -->")[0]
    assert shown == markdown(), "run python -m runwright_gateway.permissions into the README"


OPERATIONS = sorted(RULES)
FILLED = {"action": "cancel", "number": "1", "base": "1", "head": "2"}
"""Path parameters that are not ids (an action, version numbers); every other one is a fresh
UUID (nothing of that id)."""


def status_of(api: httpx.Client, method: str, path: str) -> int:
    """The answer's status; a stream is closed as soon as its status is known."""
    url = re.sub(r"\{(\w+)\}", lambda m: FILLED.get(m[1], str(uuid.uuid4())), path)
    body = {} if method in ("POST", "PATCH", "PUT") else None
    with api.stream(method, url, json=body) as response:
        return response.status_code


def test_every_operation_refuses_each_role_below_its_rule_and_any_foreign_workspace(
    stack: Stack, team: tuple[str, dict[str, str]]
) -> None:
    _, keys = team
    checked = 0
    for method, path in OPERATIONS:
        least = RULES[method, path]
        for role in ROLES:
            with client(stack, keys[role]) as own, client(stack, keys[role], "default") as foreign:
                status = status_of(own, method, path)
                elsewhere = status_of(foreign, method, path)
            if least is None:
                # Public: no credential is looked at (an empty body may still be invalid).
                assert status not in (401, 403), (method, path, role, status)
                assert status < 500, (method, path, role, status)
                continue
            if Role.named(role) < least:
                assert status == 403, (method, path, role, status)
            else:
                assert status != 403, (method, path, role, status)
                assert status < 500, (method, path, role, status)
            assert elsewhere == 404, (method, path, role, elsewhere)
            checked += 1
    public = sum(1 for least in RULES.values() if least is None)
    assert checked >= 5 * (len(RULES) - public)


def test_no_credential_and_a_wrong_one_are_refused_with_a_challenge(stack: Stack) -> None:
    for headers in ({}, {"Authorization": "Bearer rw_nothing0_nope"}, {"Authorization": "x"}):
        response = httpx.get(f"{stack.gateway_url}/api/v1/jobs", headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("method", "path", "body", "least"),
    [
        ("GET", "/api/v1/jobs", None, "viewer"),
        ("POST", "/api/v1/jobs", "job", "member"),
        ("POST", "/api/v1/schedules", "schedule", "developer"),
        ("GET", "/api/v1/keys", None, "admin"),
        ("POST", "/api/v1/webhooks", "webhook", "admin"),
    ],
)
def test_each_role_may_do_what_its_rank_allows_and_is_refused_the_rest(
    stack: Stack,
    team: tuple[str, dict[str, str]],
    demo_url: str,
    method: str,
    path: str,
    body: str | None,
    least: str,
) -> None:
    _, keys = team
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    bodies: dict[str | None, Any] = {
        None: None,
        "job": {"runbook": document, "run_at": later()},
        "schedule": {"cron": "0 3 * * *", "timezone": "UTC", "runbook": document, "paused": True},
        "webhook": {"url": "http://127.0.0.1:9/hook", "events": ["job.finished"]},
    }
    for role in ROLES:
        with client(stack, keys[role]) as api:
            response = api.request(method, path, json=bodies[body])
        if Role.named(role) >= Role.named(least):
            assert response.status_code < 400 or response.status_code == 422, (
                role,
                response.text,
            )
        else:
            assert response.status_code == 403, (role, response.text)
            problem = response.json()
            assert problem["code"] == "forbidden"
            assert problem["required_role"] == least


def test_only_the_installation_makes_workspaces(
    stack: Stack, team: tuple[str, dict[str, str]]
) -> None:
    _, keys = team
    with client(stack, keys["owner"]) as owner:
        response = owner.post("/api/v1/workspaces", json={"slug": "takeover"})
        assert response.status_code == 403, response.text
        listed = owner.get("/api/v1/workspaces").json()["items"]
    assert [w["slug"] for w in listed] == [team[0]]
    with client(stack, stack.token) as admin:
        again = admin.post("/api/v1/workspaces", json={"slug": team[0]})
        assert again.status_code == 409, again.text
        bad = admin.post("/api/v1/workspaces", json={"slug": "Not A Slug"})
        assert bad.status_code == 422, bad.text
        assert "slug" in bad.text


async def test_a_key_is_shown_once_stored_as_its_digest_and_revoked_at_once(
    stack: Stack, team: tuple[str, dict[str, str]]
) -> None:
    slug, keys = team
    with client(stack, keys["admin"]) as admin:
        created = new_key(admin, "member")
        key = created["key"]
        assert key.startswith(created["prefix"] + "_")
        assert created["workspace"] == slug
        assert created["status"] == "active"
        listed = admin.get("/api/v1/keys").json()["items"]
        mine = next(k for k in listed if k["id"] == created["id"])
        assert "key" not in mine
        assert mine["created_by"].startswith("key:admin-")
        assert key not in admin.get("/api/v1/keys").text

        connection = await asyncpg.connect(stack.database_url)
        try:
            row = await connection.fetchrow(
                "SELECT * FROM gateway.api_keys WHERE id = $1", uuid.UUID(created["id"])
            )
        finally:
            await connection.close()
        assert row is not None
        assert row["digest"] == hashlib.sha256(key.encode()).digest()
        assert key.encode() not in b"".join(
            v if isinstance(v, bytes) else str(v).encode() for v in row.values()
        )

        with client(stack, key) as member:
            assert member.get("/api/v1/jobs").status_code == 200
            assert admin.delete(f"/api/v1/keys/{created['id']}").status_code == 204
            refused = member.get("/api/v1/jobs")
            assert refused.status_code == 401, refused.text
            assert "revoked" in refused.json()["detail"]
        assert admin.delete(f"/api/v1/keys/{created['id']}").status_code == 204  # idempotent
        shown = next(k for k in admin.get("/api/v1/keys").json()["items"] if k["id"] == mine["id"])
        assert shown["status"] == "revoked"
        assert shown["revoked_by"].startswith("key:admin-")


def test_an_expired_key_stops_working(stack: Stack, team: tuple[str, dict[str, str]]) -> None:
    _, keys = team
    with client(stack, keys["admin"]) as admin:
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        created = new_key(admin, "viewer", expires_at=soon)
        past = admin.post(
            "/api/v1/keys",
            json={"name": "past", "role": "viewer", "expires_at": "2020-01-01T00:00:00Z"},
        )
        assert past.status_code == 422, past.text
        assert "expires_at" in past.text
        naive = admin.post(
            "/api/v1/keys",
            json={"name": "naive", "role": "viewer", "expires_at": "2099-01-01T00:00:00"},
        )
        assert naive.status_code == 422, naive.text
        assert "expires_at" in naive.text
    with client(stack, created["key"]) as viewer:
        assert viewer.get("/api/v1/jobs").status_code == 200
        time.sleep(2.5)
        refused = viewer.get("/api/v1/jobs")
        assert refused.status_code == 401, refused.text
        assert "expired" in refused.json()["detail"]


def test_nobody_hands_out_more_than_they_hold(
    stack: Stack, team: tuple[str, dict[str, str]]
) -> None:
    _, keys = team
    with client(stack, keys["admin"]) as admin:
        response = admin.post("/api/v1/keys", json={"name": "up", "role": "owner"})
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "role_too_high"
        assert "role" in response.text
        unknown = admin.post("/api/v1/keys", json={"name": "odd", "role": "root"})
        assert unknown.status_code == 422, unknown.text
        assert "role" in unknown.text
        first = new_key(admin, "viewer")
        twice = admin.post("/api/v1/keys", json={"name": first["name"], "role": "viewer"})
        assert twice.status_code == 409, twice.text


def test_a_key_acts_in_its_own_workspace_only(
    stack: Stack, team: tuple[str, dict[str, str]]
) -> None:
    slug, keys = team
    with client(stack, keys["owner"], "default") as elsewhere:
        assert elsewhere.get("/api/v1/jobs").status_code == 404
    with client(stack, keys["owner"], slug) as own:
        assert own.get("/api/v1/workspaces/current").json()["slug"] == slug
    with client(stack, stack.token, "no-such-workspace") as admin:
        assert admin.get("/api/v1/jobs").status_code == 404


def test_workspaces_see_only_their_own_jobs_counts_reports_and_artifacts(
    stack: Stack, team: tuple[str, dict[str, str]], api: httpx.Client, demo_url: str
) -> None:
    _slug, keys = team
    with client(stack, keys["member"]) as theirs:
        before = theirs.get("/api/v1/jobs/counts").json()["total"]
        job = scheduled_job(theirs, demo_url, "Only in the team's workspace")
        assert theirs.get(f"/api/v1/jobs/{job['id']}").status_code == 200
        assert theirs.get("/api/v1/jobs/counts").json()["total"] == before + 1
        their_titles = [j["title"] for j in theirs.get("/api/v1/jobs").json()["items"]]
    assert "Only in the team's workspace" in their_titles

    ours = scheduled_job(api, demo_url, "Only in the default workspace")
    default_titles = [
        j["title"] for j in api.get("/api/v1/jobs", params={"limit": 200}).json()["items"]
    ]
    assert "Only in the team's workspace" not in default_titles
    for path in ("", "/report", "/report.md", "/artifacts", "/events"):
        response = api.get(f"/api/v1/jobs/{job['id']}{path}")
        assert response.status_code == 404, (path, response.text)
    assert api.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 404
    with client(stack, keys["owner"]) as owner:
        for path in ("", "/report", "/artifacts", "/events"):
            response = owner.get(f"/api/v1/jobs/{ours['id']}{path}")
            assert response.status_code == 404, (path, response.text)
        assert owner.post(f"/api/v1/jobs/{ours['id']}/cancel").status_code == 404
        assert owner.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 200
    assert api.get(f"/api/v1/jobs/{ours['id']}").json()["status"] == "scheduled"
    api.post(f"/api/v1/jobs/{ours['id']}/cancel")


def test_the_workspace_stream_carries_only_the_callers_workspace(
    stack: Stack, team: tuple[str, dict[str, str]], api: httpx.Client, demo_url: str
) -> None:
    slug, keys = team
    _, ready = read_events(api, "/api/v1/events", limit=1)
    start = ready[0].id
    with client(stack, keys["member"]) as theirs:
        job = scheduled_job(theirs, demo_url, "Their stream's job")
        _, seen = read_events(
            theirs,
            "/api/v1/events",
            last_event_id=start,
            until=lambda e: e.data.get("job_id") == job["id"],
            timeout=30,
        )
    mine = scheduled_job(api, demo_url, "Our stream's job")
    _, ours = read_events(
        api,
        "/api/v1/events",
        last_event_id=start,
        until=lambda e: e.data.get("job_id") == mine["id"],
        timeout=30,
    )
    assert any(e.data.get("job_id") == job["id"] for e in seen)
    assert all(e.data.get("workspace") == slug for e in seen if e.event != "ready")
    assert all(e.data.get("job_id") != job["id"] for e in ours)
    api.post(f"/api/v1/jobs/{mine['id']}/cancel")


def test_schedules_and_webhooks_belong_to_their_workspace(
    stack: Stack, team: tuple[str, dict[str, str]], api: httpx.Client, demo_url: str
) -> None:
    _, keys = team
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    with client(stack, keys["admin"]) as theirs:
        schedule = theirs.post(
            "/api/v1/schedules",
            json={"cron": "0 3 * * *", "timezone": "UTC", "runbook": document, "paused": True},
        )
        assert schedule.status_code == 201, schedule.text
        hook = theirs.post(
            "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["job.finished"]}
        )
        assert hook.status_code == 201, hook.text
        assert theirs.get(f"/api/v1/schedules/{schedule.json()['id']}").status_code == 200
    schedule_id, hook_id = schedule.json()["id"], hook.json()["id"]
    assert api.get(f"/api/v1/schedules/{schedule_id}").status_code == 404
    assert api.delete(f"/api/v1/schedules/{schedule_id}").status_code == 404
    assert schedule_id not in api.get("/api/v1/schedules", params={"limit": 200}).text
    assert hook_id not in api.get("/api/v1/webhooks").text
    assert api.get(f"/api/v1/webhooks/{hook_id}/deliveries").status_code == 404
    assert api.delete(f"/api/v1/webhooks/{hook_id}").status_code == 404
    with client(stack, keys["admin"]) as theirs:
        assert hook_id in theirs.get("/api/v1/webhooks").text
        assert theirs.delete(f"/api/v1/webhooks/{hook_id}").status_code == 204
        assert theirs.delete(f"/api/v1/schedules/{schedule_id}").status_code == 204
