"""The audit log through the real gateway: every changing operation in the API document writes
exactly one row (refused ones too), the gateway's own role cannot change or remove rows and the
table refuses even a superuser, no secret ever reaches it, and ``GET /api/v1/audit`` filters,
pages, exports and stays within the caller's workspace."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from runwright_db.roles import role
from runwright_gateway.audit import NOT_CHANGES, action_of, note, storable, summarize
from runwright_gateway.audit_api import safe_cell
from runwright_gateway.permissions import RULES
from runwright_stack.stack import Stack
from support.runbooks import runbook

pytestmark = pytest.mark.e2e

CHANGING = ("post", "put", "patch", "delete")
FILLED = {"action": "cancel", "number": "1", "base": "1", "head": "2"}
KNOWN = {
    ("POST", "/api/v1/jobs"): "job.create",
    ("POST", "/api/v1/jobs/{job_id}/{action}"): "job.cancel",
    ("POST", "/api/v1/schedules"): "schedule.create",
    ("PATCH", "/api/v1/schedules/{schedule_id}"): "schedule.update",
    ("DELETE", "/api/v1/schedules/{schedule_id}"): "schedule.delete",
    ("POST", "/api/v1/webhooks"): "webhook.create",
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): "webhook.delete",
    ("POST", "/api/v1/keys"): "key.create",
    ("DELETE", "/api/v1/keys/{key_id}"): "key.delete",
    ("POST", "/api/v1/workspaces"): "workspace.create",
}
"""The actions of the operations this test was written with; newer ones are derived the same
way (``action_of``), which is the point: a new route needs nothing to be audited."""


def client(stack: Stack, token: str, workspace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-Workspace"] = workspace
    return httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers)


def rid() -> str:
    return f"t-{uuid.uuid4().hex}"


async def _query(dsn: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads, format="text"
    )
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


def query(stack: Stack, sql: str, *args: Any) -> list[asyncpg.Record]:
    return asyncio.run(_query(stack.database_url, sql, *args))


def rows_of(stack: Stack, request_id: str, expect: int = 1) -> list[dict[str, Any]]:
    """The audit rows of one request, once the writer has had time to write them (and a little
    more, so that a second row would be seen too)."""
    deadline = time.monotonic() + 10
    sql = "SELECT * FROM gateway.audit WHERE request_id = $1 ORDER BY id"
    while True:
        rows = query(stack, sql, request_id)
        if len(rows) >= expect or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    time.sleep(0.05)
    return [dict(r) for r in query(stack, sql, request_id)]


def only_row(stack: Stack, request_id: str) -> dict[str, Any]:
    rows = rows_of(stack, request_id)
    assert len(rows) == 1, rows
    return rows[0]


def expected_outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return "denied" if status in (401, 403, 404, 429) else "failed"


def later() -> str:
    return (datetime.now(UTC) + timedelta(days=1)).isoformat()


@pytest.fixture(scope="module")
def team(stack: Stack) -> dict[str, Any]:
    """A fresh workspace with an admin key and a viewer key in it."""
    slug = f"au-{uuid.uuid4().hex[:10]}"
    with client(stack, stack.token) as admin:
        made = admin.post("/api/v1/workspaces", json={"slug": slug, "name": "Audit team"})
        assert made.status_code == 201, made.text
    keys: dict[str, Any] = {"slug": slug}
    with client(stack, stack.token, slug) as installer:
        for kind in ("admin", "viewer"):
            body = {"name": f"{kind}-{uuid.uuid4().hex[:6]}", "role": kind}
            created = installer.post("/api/v1/keys", json=body)
            assert created.status_code == 201, created.text
            keys[kind] = created.json()
    return keys


def test_every_changing_operation_writes_exactly_one_row(stack: Stack, api: httpx.Client) -> None:
    document = api.get("/api/openapi.json").json()
    operations = sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in CHANGING
    )
    assert len(operations) >= len(KNOWN) + 1
    checked = 0
    for method, path in operations:
        params = {
            name: FILLED.get(name, str(uuid.uuid4())) for name in re.findall(r"\{(\w+)\}", path)
        }
        url = path.format(**params)
        request_id = rid()
        response = api.request(method, url, json={}, headers={"X-Request-Id": request_id})
        assert response.headers["x-request-id"] == request_id
        assert response.status_code < 500, (method, path, response.text)
        if (method, path) in NOT_CHANGES:
            assert rows_of(stack, request_id, expect=1) == [], (method, path)
            continue
        row = only_row(stack, request_id)
        assert row["action"] == KNOWN.get((method, path), action_of(method, path, params))
        assert row["outcome"] == expected_outcome(response.status_code), (method, path)
        assert row["status"] == response.status_code
        assert row["detail"]["operation"] == f"{method} {path}"
        assert row["source"] == "127.0.0.1"
        if RULES.get((method, path)) is not None:
            assert (row["actor"], row["workspace"]) == ("admin", "default"), (method, path, row)
        ids = [v for k, v in params.items() if k != "action"]
        if ids:
            assert row["target"] == "/".join(ids)
        checked += 1
    assert checked >= len(KNOWN)
    assert ("POST", "/api/v1/runbooks/validate") in operations


def test_refusals_name_who_was_refused_where_and_successes_what_they_made(
    stack: Stack, team: dict[str, Any]
) -> None:
    viewer, admin = team["viewer"], team["admin"]
    with client(stack, viewer["key"]) as api:
        request_id = rid()
        refused = api.post(
            "/api/v1/webhooks",
            json={"url": "http://127.0.0.1:9/"},
            headers={"X-Request-Id": request_id},
        )
        assert refused.status_code == 403
        row = only_row(stack, request_id)
        assert (row["actor"], row["workspace"], row["outcome"]) == (
            f"key:{viewer['name']}",
            team["slug"],
            "denied",
        )
    with client(stack, viewer["key"], "default") as api:
        request_id = rid()
        assert (
            api.delete(
                f"/api/v1/keys/{uuid.uuid4()}", headers={"X-Request-Id": request_id}
            ).status_code
            == 404
        )
        row = only_row(stack, request_id)
        assert (row["actor"], row["workspace"]) == (f"key:{viewer['name']}", team["slug"])
        assert row["detail"]["workspace_asked"] == "default"
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as nobody:
        request_id = rid()
        assert (
            nobody.post("/api/v1/jobs", json={}, headers={"X-Request-Id": request_id}).status_code
            == 401
        )
        row = only_row(stack, request_id)
        assert (row["actor"], row["workspace"], row["outcome"]) == ("anonymous", None, "denied")
    with client(stack, admin["key"]) as api:
        request_id = rid()
        made = api.post(
            "/api/v1/keys",
            json={"name": "made", "role": "viewer"},
            headers={"X-Request-Id": request_id},
        )
        assert made.status_code == 201
        row = only_row(stack, request_id)
        assert row["target"] == made.json()["id"]
        assert row["action"] == "key.create"
        assert row["detail"]["fields"] == ["name", "role"]
        assert row["detail"]["values"] == {"name": "made", "role": "viewer"}
        assert (row["actor"], row["workspace"], row["outcome"]) == (
            f"key:{admin['name']}",
            team["slug"],
            "ok",
        )


def test_a_request_id_is_echoed_when_safe_and_made_otherwise(api: httpx.Client) -> None:
    assert (
        api.get("/api/v1/jobs", headers={"X-Request-Id": "abc.1-2_3"}).headers["x-request-id"]
        == "abc.1-2_3"
    )
    for unsafe in (b"has space", b"x" * 65, b"\xfc", b""):
        made = api.get("/api/v1/jobs", headers=[(b"X-Request-Id", unsafe)]).headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", made), made


def gateway_login(stack: Stack) -> str:
    assert stack.postgres is not None
    password = stack.database_passwords["gateway"]
    return f"postgresql://{role('gateway')}:{password}@127.0.0.1:{stack.postgres.port}/postgres"


async def _attempt(dsn: str, statement: str) -> str:
    """'done' (rolled back), or the error PostgreSQL answered."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(statement)
            raise _Rollback
    except _Rollback:
        return "done"
    except asyncpg.PostgresError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await conn.close()


class _Rollback(Exception):
    pass


CHANGES = (
    "UPDATE gateway.audit SET actor = 'someone else'",
    "DELETE FROM gateway.audit",
    "TRUNCATE gateway.audit",
)


def test_nobody_changes_or_removes_an_audit_row(stack: Stack, api: httpx.Client) -> None:
    request_id = rid()
    api.delete(f"/api/v1/webhooks/{uuid.uuid4()}", headers={"X-Request-Id": request_id})
    only_row(stack, request_id)
    gateway = gateway_login(stack)
    insert = (
        "INSERT INTO gateway.audit (actor, action, outcome, status) "
        "VALUES ('test', 'test.insert', 'ok', 200)"
    )
    assert asyncio.run(_attempt(gateway, insert)) == "done"
    for statement in CHANGES:
        # The gateway's role holds no right to it, and the table itself refuses a superuser.
        assert asyncio.run(_attempt(gateway, statement)).startswith("InsufficientPrivilegeError"), (
            statement
        )
        assert "append-only" in asyncio.run(_attempt(stack.database_url, statement)), statement
    assert len(rows_of(stack, request_id)) == 1


def test_no_secret_reaches_the_audit_log(stack: Stack, api: httpx.Client, demo_url: str) -> None:
    marks = {
        name: f"{name}-{uuid.uuid4().hex}"
        for name in ("secret", "hook", "query", "token", "bearer", "password")
    }
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    job = api.post(
        "/api/v1/jobs",
        json={"runbook": document, "secrets": {"password": marks["secret"]}, "run_at": later()},
    )
    assert job.status_code == 201, job.text
    assert api.post(f"/api/v1/jobs/{job.json()['id']}/cancel").status_code == 200
    hook = api.post(
        "/api/v1/webhooks",
        json={
            "url": f"http://127.0.0.1:9/hook/{marks['query']}?token={marks['query']}",
            "events": ["job.finished"],
            "secret": marks["hook"],
        },
    )
    assert hook.status_code in (201, 422), hook.text
    if hook.status_code == 201:
        assert api.delete(f"/api/v1/webhooks/{hook.json()['id']}").status_code == 204
    with httpx.Client(base_url=stack.gateway_url, timeout=30) as browser:
        signin = browser.post("/console/session", json={"token": marks["token"]})
        assert signin.status_code in (400, 401, 403, 422), signin.text
        form = browser.post(
            "/console/session",
            content=f"token={marks['token']}&password={marks['password']}",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code < 500
        wrong = browser.post(
            "/api/v1/jobs", json={}, headers={"Authorization": f"Bearer {marks['bearer']}"}
        )
        assert wrong.status_code == 401
    request_id = rid()
    api.post(
        "/api/v1/keys", json={"name": "a", "role": "nope"}, headers={"X-Request-Id": request_id}
    )
    only_row(stack, request_id)  # everything sent before it was handed to the writer first
    time.sleep(0.2)
    dump = "\n".join(r["row"] for r in query(stack, "SELECT a::text AS row FROM gateway.audit a"))
    assert "signin" in dump
    assert "webhook.create" in dump
    for name, mark in marks.items():
        assert mark not in dump, name
    assert stack.token not in dump


def page_all(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    before = None
    for _ in range(1000):
        answer = api.get(
            "/api/v1/audit", params={**params, **({"before": before} if before else {})}
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        items += page["items"]
        before = page["next_before"]
        if before is None:
            return items
    raise AssertionError("paging did not end")


def test_the_log_filters_pages_and_exports_within_the_workspace(
    stack: Stack, api: httpx.Client, team: dict[str, Any]
) -> None:
    admin = team["admin"]
    with client(stack, admin["key"]) as own:
        ids = []
        for _ in range(7):
            ids.append(rid())
            own.delete(f"/api/v1/webhooks/{uuid.uuid4()}", headers={"X-Request-Id": ids[-1]})
        made = own.post("/api/v1/keys", json={"name": "k-made", "role": "viewer"})
        assert made.status_code == 201
        formula = rid()
        own.delete("/api/v1/webhooks/=1+1", headers={"X-Request-Id": formula})
        rows_of(stack, formula)

        everything = page_all(own, limit=3)
        got = [item["id"] for item in everything]
        assert got == sorted(set(got), reverse=True), "pages repeat or are out of order"
        stored = query(
            stack,
            "SELECT id FROM gateway.audit WHERE workspace = $1 ORDER BY id DESC",
            team["slug"],
        )
        assert got == [r["id"] for r in stored], "pages skipped rows"
        assert {item["workspace"] for item in everything} == {team["slug"]}
        assert len(everything) >= 9

        denied = page_all(own, outcome="denied", action="webhook.delete", limit=500)
        assert len(denied) == 8
        assert {i["request_id"] for i in denied} >= set(ids)
        by_target = own.get("/api/v1/audit", params={"target": made.json()["id"]}).json()["items"]
        assert [i["action"] for i in by_target] == ["key.create"]
        mine = own.get("/api/v1/audit", params={"actor": f"key:{admin['name']}"}).json()["items"]
        assert mine
        assert {i["actor"] for i in mine} == {f"key:{admin['name']}"}
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert own.get("/api/v1/audit", params={"since": soon}).json()["items"] == []
        assert (
            own.get("/api/v1/audit", params={"until": "2001-01-01T00:00:00Z"}).json()["items"] == []
        )
        newest = everything[0]["at"]
        recent = own.get("/api/v1/audit", params={"since": newest}).json()["items"]
        assert recent
        assert all(i["at"] >= newest for i in recent)

        listed = own.get("/api/v1/audit", params={"format": "jsonl"})
        assert listed.status_code == 200
        assert listed.headers["content-type"] == "application/x-ndjson"
        assert listed.headers["content-disposition"].startswith("attachment")
        lines = [json.loads(line) for line in listed.text.splitlines()]
        assert [line["id"] for line in lines] == got
        sheet = own.get("/api/v1/audit", params={"format": "csv", "outcome": "denied"})
        assert sheet.status_code == 200
        assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
        assert sheet.headers["content-disposition"].startswith("attachment")
        table = list(csv.DictReader(io.StringIO(sheet.text)))
        assert [int(r["id"]) for r in table] == [i["id"] for i in page_all(own, outcome="denied")]
        cell = next(r for r in table if r["request_id"] == formula)
        assert cell["target"] == "'=1+1"
        assert json.loads(cell["detail"])["operation"] == "DELETE /api/v1/webhooks/{webhook_id}"

    theirs = page_all(api, limit=500, since=everything[-1]["at"])
    assert not {i["id"] for i in theirs} & set(got), "the default workspace sees another's rows"
    with client(stack, team["viewer"]["key"]) as auditor:
        seen = page_all(auditor, limit=500)
        assert seen
        assert {i["workspace"] for i in seen} == {team["slug"]}
        exported = auditor.get("/api/v1/audit", params={"format": "csv"}).text
        assert {r["workspace"] for r in csv.DictReader(io.StringIO(exported))} == {team["slug"]}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"outcome": "bogus"}, "outcome"),
        ({"outcome": "null"}, "outcome"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2024-01-01T00:00:00"}, "since"),
        ({"until": "9999-12-31T23:59:59-05:00"}, "until"),
        ({"since": "0001-01-01T00:00:00+05:00"}, "since"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"before": "-1"}, "before"),
        ({"before": "99999999999999999999"}, "before"),
        ({"format": "xml"}, "format"),
        ({"actor": "x" * 201}, "actor"),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(
    api: httpx.Client, params: dict[str, str], field: str
) -> None:
    response = api.get("/api/v1/audit", params=params)
    assert response.status_code == 422, response.text
    assert any(e["field"] == field for e in response.json()["errors"]), response.text


@pytest.mark.parametrize(
    "params",
    [
        {
            "format": "csv",
            "since": "0330-08-29T00:00:00Z",
            "until": "9885-01-01T00:00:00Z",
            "outcome": "null",
            "unknown": "1",
            "x": "",
        },
        {
            "format": "csv",
            "since": "0330-01-01T00:00:00Z",
            "until": "9885-12-31T00:00:00Z",
            "unknown": "1",
        },
        {"format": "jsonl", "since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"},
        {"format": "json", "since": "9885-01-01T00:00:00Z", "until": "0330-01-01T00:00:00Z"},
    ],
)
def test_odd_queries_never_fail_the_server(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/api/v1/audit", params=params)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200 and params["format"] == "csv":
        assert response.text.startswith("id,at,workspace")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"title": "\xff\xfe"}', "application/json"),
        (b'{"title": "a\x00b"}', "application/json"),
        (b'{"title": "a\\u0000b", "na\\u0000me": 1, "runbook": 1}', "application/json"),
        (b'{"title": "\\ud800"}', "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b"a\x00b", "text/plain"),
        (b"not json at all", "application/json"),
    ],
)
def test_a_body_that_cannot_be_stored_is_refused_and_still_audited(
    stack: Stack, api: httpx.Client, content: bytes, content_type: str
) -> None:
    request_id = rid()
    response = api.post(
        "/api/v1/jobs",
        content=content,
        headers={"content-type": content_type, "X-Request-Id": request_id},
    )
    assert 400 <= response.status_code < 500, response.text
    row = only_row(stack, request_id)
    assert row["status"] == response.status_code
    stored = json.dumps(row["detail"])
    assert "\\u0000" not in stored
    assert "\x00" not in stored


def test_a_body_over_the_limit_is_audited_unread(stack: Stack, api: httpx.Client) -> None:
    request_id = rid()
    big = b'{"title": "' + b"x" * (2 << 20) + b'"}'
    response = api.post(
        "/api/v1/jobs",
        content=big,
        headers={"content-type": "application/json", "X-Request-Id": request_id},
    )
    assert response.status_code == 413
    row = only_row(stack, request_id)
    assert row["detail"]["body"].startswith("not read")


def test_the_summary_never_raises_and_keeps_only_names_and_harmless_values() -> None:
    bodies = [b"", b"\xff", b"\x00", b"[]", b"1", b"{" * 100_000, b'{"a": 1}', b'{"\\ud800": 1}']
    for body in bodies:
        json.dumps(summarize(body, "application/json"))
    secret = uuid.uuid4().hex
    sent = {
        "name": "ci",
        "secret": secret,
        "token": secret,
        "runbook": {"secrets": {"p": secret}},
        "url": f"https://u:{secret}@hooks.example/{secret}?t={secret}",
        "role": "a\x00b",
    }
    summary = summarize(json.dumps(sent).encode(), "application/json")
    assert secret not in json.dumps(summary)
    assert summary["fields"] == sorted(sent)
    assert summary["values"] == {"name": "ci", "url": "hooks.example", "role": "a\ufffdb"}
    assert summarize(None, "application/json")["body"].startswith("not read")
    assert storable({"k\x00": ["\ud800", {"x": "\x00" * 500}]}) == {
        "k\ufffd": ["?", {"x": "\ufffd" * 200}]
    }


def test_a_handler_notes_what_only_it_knows() -> None:
    class Connection:
        scope: dict[str, Any] = {}

    connection = Connection()
    note(connection, actor="user:a@example.com", detail={"email": "a@example.com"})
    note(connection, target="t", detail={"more": 1})
    assert connection.scope["state"]["audit_note"] == {
        "actor": "user:a@example.com",
        "target": "t",
        "detail": {"email": "a@example.com", "more": 1},
    }
    assert safe_cell("=SUM(A1)") == "'=SUM(A1)"
    assert safe_cell("-1") == "'-1"
    assert safe_cell("\tx") == "'\tx"
    assert safe_cell("ok") == "ok"
