"""People through the real gateway: invitations (shown or mailed, resent, cancelled, expiring),
accounts with argon2id passwords, console sessions that hold only a random id and end when they
should, members' roles under the Owner rules, and sign-in limits that hold across two gateway
processes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiosmtpd.controller import Controller
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack
from support.runbooks import runbook
from support.stack import another_gateway_env
from test_job_list_api_e2e import later

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple"


def bearer(stack: Stack, token: str, workspace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"}
    if workspace:
        headers["X-Workspace"] = workspace
    return httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers)


def browser(stack: Stack, workspace: str | None = None) -> httpx.Client:
    """A client that, like the console, carries only the session cookie."""
    headers = {"X-Workspace": workspace} if workspace else {}
    return httpx.Client(base_url=stack.gateway_url, timeout=30, headers=headers)


def token_of(link: str) -> str:
    assert "/console/accept#token=" in link, link
    return link.split("#token=", 1)[1]


@pytest.fixture(scope="module")
def workspace(stack: Stack) -> str:
    slug = f"team-{uuid.uuid4().hex[:8]}"
    with bearer(stack, stack.token) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    return slug


def invite(stack: Stack, workspace: str, email: str, role: str) -> dict[str, Any]:
    with bearer(stack, stack.token, workspace) as owner:
        made = owner.post("/api/v1/invitations", json={"email": email, "role": role})
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


def join(stack: Stack, workspace: str, role: str) -> tuple[httpx.Client, str]:
    """A new person of ``role`` in ``workspace``, signed in: (their console client, e-mail)."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.test"
    link = invite(stack, workspace, email, role)["link"]
    person = browser(stack, workspace)
    accepted = person.post(
        "/api/v1/invitations/accept",
        json={"token": token_of(link), "password": PASSWORD, "name": role.title()},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == role
    return person, email


async def sql(stack: Stack, query: str, *args: Any) -> Any:
    connection = await asyncpg.connect(stack.database_url)
    try:
        return await connection.fetch(query, *args)
    finally:
        await connection.close()


def test_a_new_member_joins_by_link_and_acts_with_a_session_that_holds_no_credential(
    stack: Stack, workspace: str
) -> None:
    email = f"ada-{uuid.uuid4().hex[:6]}@example.test"
    made = invite(stack, workspace, email, "member")
    assert made["status"] == "pending"
    assert made["mailed"] is False
    assert made["link"].startswith(stack.gateway_url + "/console/accept#token=")
    token = token_of(made["link"])
    with bearer(stack, stack.token, workspace) as owner:
        listed = owner.get("/api/v1/invitations").json()["items"]
    assert [i["email"] for i in listed if i["id"] == made["id"]] == [email]
    assert all(i.get("link") is None for i in listed), "a link is shown once"

    with browser(stack, workspace) as person:
        short = person.post(
            "/api/v1/invitations/accept", json={"token": token, "password": "short"}
        )
        assert short.status_code == 422
        assert short.json()["errors"][0]["field"] == "password"
        accepted = person.post(
            "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD, "name": "Ada"}
        )
        assert accepted.status_code == 200, accepted.text
        cookie = person.cookies["runwright_session"]
        assert cookie != stack.token
        assert PASSWORD not in cookie
        me = person.get("/api/v1/me").json()
        assert me["actor"] == f"user:{email}"
        assert me["user"]["name"] == "Ada"
        assert (me["workspace"], me["role"]) == (workspace, "member")
        assert [w["slug"] for w in me["workspaces"]] == [workspace]
        document = runbook(
            [{"action": {"type": "wait", "duration": 1}}], start_url="http://127.0.0.1:9/"
        )
        job = person.post("/api/v1/jobs", json={"runbook": document, "run_at": later()})
        assert job.status_code == 201, job.text
        assert (
            person.get(f"/api/v1/jobs/{job.json()['id']}").json()["submitted_by"] == f"user:{email}"
        )
        assert person.post("/api/v1/webhooks", json={"url": "http://x.test"}).status_code == 403
        again = person.post(
            "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
        )
        assert again.status_code == 404, "a link works once"

    sessions = _run(sql(stack, "SELECT * FROM gateway.sessions"))
    users = _run(sql(stack, "SELECT * FROM gateway.users WHERE lower(email) = $1", email))
    stored = repr([dict(r) for r in sessions]) + repr([dict(r) for r in users])
    assert cookie not in stored
    assert PASSWORD not in stored
    assert users[0]["password_hash"].startswith("$argon2id$")


def test_resend_replaces_the_link_cancel_and_expiry_end_it(stack: Stack, workspace: str) -> None:
    made = invite(stack, workspace, f"bo-{uuid.uuid4().hex[:6]}@example.test", "viewer")
    first = token_of(made["link"])
    with bearer(stack, stack.token, workspace) as owner:
        resent = owner.post(f"/api/v1/invitations/{made['id']}/resend")
        assert resent.status_code == 200, resent.text
        second = token_of(resent.json()["link"])
        assert second != first
        with browser(stack) as person:
            old = person.post(
                "/api/v1/invitations/accept", json={"token": first, "password": PASSWORD}
            )
            assert old.status_code == 404, "the old link stops working"
        assert owner.delete(f"/api/v1/invitations/{made['id']}").status_code == 204
        assert owner.delete(f"/api/v1/invitations/{made['id']}").status_code == 204, "again: no-op"
        assert owner.post(f"/api/v1/invitations/{made['id']}/resend").status_code == 409
        statuses = {i["id"]: i["status"] for i in owner.get("/api/v1/invitations").json()["items"]}
        assert statuses[made["id"]] == "cancelled"
        with browser(stack) as person:
            gone = person.post(
                "/api/v1/invitations/accept", json={"token": second, "password": PASSWORD}
            )
            assert gone.status_code == 404

        late = invite(stack, workspace, f"cy-{uuid.uuid4().hex[:6]}@example.test", "viewer")
        _run(
            sql(
                stack,
                "UPDATE gateway.invitations SET expires_at = now() - interval '1 second'"
                " WHERE id = $1",
                uuid.UUID(late["id"]),
            )
        )
        statuses = {i["id"]: i["status"] for i in owner.get("/api/v1/invitations").json()["items"]}
        assert statuses[late["id"]] == "expired"
        with browser(stack) as person:
            token = token_of(late["link"])
            expired = person.post(
                "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
            )
            assert expired.status_code == 404


def test_nobody_gives_a_role_above_their_own_and_the_last_owner_stays(
    stack: Stack, workspace: str
) -> None:
    admin, _ = join(stack, workspace, "admin")
    owner, owner_email = join(stack, workspace, "owner")
    member, member_email = join(stack, workspace, "member")
    with closing(admin), closing(owner), closing(member):
        too_high = admin.post(
            "/api/v1/invitations", json={"email": "dee@example.test", "role": "owner"}
        )
        assert too_high.status_code == 403
        assert too_high.json()["errors"][0]["field"] == "role"
        bad = admin.post("/api/v1/invitations", json={"email": "not-an-address", "role": "member"})
        assert bad.status_code in (400, 422)
        assert "email" in bad.text
        already = admin.post("/api/v1/invitations", json={"email": member_email, "role": "viewer"})
        assert already.status_code == 409

        members = {m["email"]: m for m in admin.get("/api/v1/members").json()["items"]}
        owner_id = members[owner_email]["user_id"]
        member_id = members[member_email]["user_id"]
        assert (
            admin.patch(f"/api/v1/members/{owner_id}", json={"role": "viewer"}).status_code == 403
        )
        assert (
            member.patch(f"/api/v1/members/{member_id}", json={"role": "admin"}).status_code == 403
        )
        promoted = admin.patch(f"/api/v1/members/{member_id}", json={"role": "developer"})
        assert promoted.status_code == 200, promoted.text
        assert promoted.json()["role"] == "developer"
        assert member.get("/api/v1/me").json()["role"] == "developer"

        # The workspace's only person-Owner may not step down or be removed.
        last = owner.patch(f"/api/v1/members/{owner_id}", json={"role": "admin"})
        assert last.status_code == 409, last.text
        assert owner.delete(f"/api/v1/members/{owner_id}").status_code == 409

        assert admin.delete(f"/api/v1/members/{member_id}").status_code == 204
        assert member.get("/api/v1/me").status_code == 401, "removal ends the person's sessions"
        assert admin.delete(f"/api/v1/members/{member_id}").status_code == 404


def test_an_owner_makes_a_workspace_and_owns_it_and_picks_it_with_the_header(
    stack: Stack, workspace: str
) -> None:
    owner, email = join(stack, workspace, "owner")
    member, _ = join(stack, workspace, "member")
    slug = f"own-{uuid.uuid4().hex[:8]}"
    with closing(owner), closing(member):
        assert member.post("/api/v1/workspaces", json={"slug": slug}).status_code == 403
        made = owner.post("/api/v1/workspaces", json={"slug": slug, "name": "Second"})
        assert made.status_code == 201, made.text
        assert made.json()["role"] == "owner"
        spaces = {w["slug"]: w["role"] for w in owner.get("/api/v1/me").json()["workspaces"]}
        assert spaces == {workspace: "owner", slug: "owner"}
        owner.headers["X-Workspace"] = slug
        me = owner.get("/api/v1/me").json()
        assert (me["workspace"], me["role"]) == (slug, "owner")
        members = owner.get("/api/v1/members").json()["items"]
        assert [(m["email"], m["role"]) for m in members] == [(email, "owner")]
        member.headers["X-Workspace"] = slug
        assert member.get("/api/v1/jobs").status_code == 404, "not theirs: not revealed"


def sign_in(stack: Stack, email: str, password: str) -> httpx.Response:
    with browser(stack) as person:
        return person.post("/console/session", json={"email": email, "password": password})


def test_sessions_end_on_sign_out_idle_age_password_change_and_everywhere(
    stack: Stack, workspace: str
) -> None:
    first, email = join(stack, workspace, "member")
    with closing(first), browser(stack) as second, browser(stack) as third:
        for client in (second, third):
            signed = client.post("/console/session", json={"email": email, "password": PASSWORD})
            assert signed.status_code == 204, signed.text
            assert client.get("/console/session").json() == {"signed_in": True}
        wrong = second.post("/console/session", json={"email": email, "password": "nope" * 4})
        assert wrong.status_code == 401

        # Sign-out ends the session on the server: the same cookie sent again is refused.
        kept = third.cookies["runwright_session"]
        assert third.delete("/console/session").status_code == 204
        with browser(stack) as replay:
            replay.cookies.set("runwright_session", kept)
            assert replay.get("/api/v1/me").status_code == 401

        changed = first.post(
            "/api/v1/me/password",
            json={"current_password": PASSWORD, "new_password": PASSWORD + " again"},
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["ended"] >= 1
        assert second.get("/api/v1/me").status_code == 401, "a password change ends the others"
        assert first.get("/api/v1/me").status_code == 200, "... but not the one that changed it"
        assert sign_in(stack, email, PASSWORD).status_code == 401
        assert sign_in(stack, email, PASSWORD + " again").status_code == 204

        ended = first.delete("/api/v1/me/sessions")
        assert ended.status_code == 200
        assert ended.json()["ended"] >= 2
        assert first.get("/api/v1/me").status_code == 401

    with browser(stack) as idle, browser(stack) as old:
        for client in (idle, old):
            signed = client.post(
                "/console/session", json={"email": email, "password": PASSWORD + " again"}
            )
            assert signed.status_code == 204
        assert idle.get("/api/v1/me").status_code == 200
        idle_id = idle.cookies["runwright_session"]
        old_id = old.cookies["runwright_session"]
        _run(
            sql(
                stack,
                "UPDATE gateway.sessions SET last_seen_at = now() - interval '9 hours'"
                " WHERE digest = sha256($1::text::bytea)",
                idle_id,
            )
        )
        _run(
            sql(
                stack,
                "UPDATE gateway.sessions SET expires_at = now() - interval '1 second'"
                " WHERE digest = sha256($1::text::bytea)",
                old_id,
            )
        )
        assert idle.get("/api/v1/me").status_code == 401, "idle for longer than 8 hours"
        assert old.get("/api/v1/me").status_code == 401, "older than its absolute limit"


def test_a_key_or_the_admin_token_signs_in_to_a_session_not_a_cookie_holding_it(
    stack: Stack, workspace: str
) -> None:
    with bearer(stack, stack.token, workspace) as owner:
        key = owner.post(
            "/api/v1/keys", json={"name": f"k-{uuid.uuid4().hex[:6]}", "role": "viewer"}
        )
        assert key.status_code == 201
    with browser(stack) as console:
        assert (
            console.post("/console/session", json={"token": key.json()["key"]}).status_code == 204
        )
        assert console.cookies["runwright_session"] != key.json()["key"]
        assert console.get("/api/v1/me").json()["actor"] == f"key:{key.json()['name']}"
        with bearer(stack, stack.token, workspace) as owner:
            assert owner.delete(f"/api/v1/keys/{key.json()['id']}").status_code == 204
        assert console.get("/api/v1/me").status_code == 401, "revoking the key ends its sessions"
    with browser(stack) as console:
        assert console.post("/console/session", json={"token": stack.token}).status_code == 204
        assert console.cookies["runwright_session"] != stack.token
        assert console.get("/api/v1/me").json()["actor"] == "admin"
        assert console.get("/api/v1/me/password").status_code == 405
        refused = console.post(
            "/api/v1/me/password", json={"current_password": "x", "new_password": "y"}
        )
        assert refused.status_code == 403


RUNWRIGHT = str(Path(sys.executable).parent / "runwright")


@contextmanager
def another_gateway(stack: Stack, **changes: str | None) -> Iterator[str]:
    """Another gateway process on the same NATS and PostgreSQL, as a second replica would be
    (``changes``: its environment's differences; None removes a variable)."""
    port = free_port()
    env = another_gateway_env(stack, port)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    log = open(stack.log_dir / f"gateway-{port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "runwright_gateway"], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"the second gateway exited: {proc.returncode}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@pytest.fixture
def second_gateway(stack: Stack) -> Iterator[str]:
    """A second replica with the per-source limit at its default (the test stack's is lifted)."""
    with another_gateway(stack, RUNWRIGHT_SIGNIN_SOURCE_LIMIT=None) as url:
        yield url


def status(client: httpx.Client, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_rotating_the_admin_token_ends_the_old_one_and_its_sessions(
    stack: Stack, tmp_path: Path
) -> None:
    old = "rw_first-token-of-this-test"
    kept = tmp_path / "admin-token"
    kept.write_text(old + "\n")
    changes: dict[str, str | None] = {
        "RUNWRIGHT_ADMIN_TOKEN": None,
        "RUNWRIGHT_ADMIN_TOKEN_FILE": str(kept),
    }
    with (
        another_gateway(stack, **changes) as url,
        httpx.Client(base_url=url, timeout=30) as console,
        httpx.Client(base_url=url, timeout=30) as api,
    ):
        assert console.post("/console/session", json={"token": old}).status_code == 204
        assert console.get("/api/v1/me").json()["actor"] == "admin"
        rotated = subprocess.run(
            [RUNWRIGHT, "admin-token", "rotate"],
            env={**os.environ, "RUNWRIGHT_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            check=True,
        )
        new = rotated.stdout.strip()
        assert new.startswith("rw_")
        assert new != old
        assert kept.read_text().strip() == new
        assert kept.stat().st_mode & 0o777 == 0o600
        for _ in range(50):
            if status(api, old) == 401:
                break
            time.sleep(0.1)
        assert status(api, old) == 401
        assert console.get("/api/v1/me").status_code == 401, "its sessions end with it"
        assert status(api, new) == 200
    refused = subprocess.run(
        [RUNWRIGHT, "admin-token", "rotate"],
        env={**os.environ, "RUNWRIGHT_ADMIN_TOKEN": "set-outright"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "RUNWRIGHT_ADMIN_TOKEN is set" in refused.stderr


def test_failed_sign_ins_are_limited_per_account_across_two_gateways(
    stack: Stack, workspace: str, second_gateway: str
) -> None:
    person, email = join(stack, workspace, "viewer")
    person.close()
    urls = [stack.gateway_url, second_gateway]
    for attempt in range(10):
        with httpx.Client(base_url=urls[attempt % 2], timeout=30) as client:
            wrong = client.post(
                "/console/session", json={"email": email, "password": f"guess {attempt}!!"}
            )
            assert wrong.status_code == 401, (attempt, wrong.text)
    for url in urls:
        with httpx.Client(base_url=url, timeout=30) as client:
            limited = client.post("/console/session", json={"email": email, "password": PASSWORD})
            assert limited.status_code == 429, "even the right password waits out the lock-out"
            assert 1 <= int(limited.headers["Retry-After"]) <= 900
    # The lock-out expires by itself: once the failures age out of the window, sign-in works.
    _run(sql(stack, "UPDATE gateway.signin_failures SET at = at - interval '16 minutes'"))
    assert sign_in(stack, email, PASSWORD).status_code == 204


def test_bad_bearer_tokens_are_limited_per_source(stack: Stack, second_gateway: str) -> None:
    _run(sql(stack, "DELETE FROM gateway.signin_failures"))
    with httpx.Client(base_url=second_gateway, timeout=30) as client:
        answers = [
            client.get(
                "/api/v1/jobs", headers={"Authorization": f"Bearer rw_guess{i}_x"}
            ).status_code
            for i in range(51)
        ]
    assert answers[:49] == [401] * 49
    assert answers[-1] == 429
    _run(sql(stack, "DELETE FROM gateway.signin_failures"))


def _run(awaitable: Any) -> Any:
    return asyncio.run(awaitable)


class Inbox:
    """A loopback SMTP receiver (the third party here): what it was sent."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server, session
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        body = mail.get_body()
        assert body is not None
        self.messages.append((list(envelope.rcpt_tos), mail["Subject"] + "\n" + body.get_content()))
        return "250 OK"


def test_an_invitation_is_mailed_when_smtp_is_configured_and_shown_when_mail_fails(
    stack: Stack, workspace: str
) -> None:
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    stopped = False
    address = f"mail-{uuid.uuid4().hex[:6]}@example.test"
    try:
        mail = {
            "RUNWRIGHT_SMTP_HOST": "127.0.0.1",
            "RUNWRIGHT_SMTP_PORT": str(port),
            "RUNWRIGHT_SMTP_STARTTLS": "false",
            "RUNWRIGHT_SMTP_FROM": "runwright@example.test",
            "RUNWRIGHT_PUBLIC_URL": "https://runwright.example.test",
        }
        with (
            another_gateway(stack, **mail) as url,
            httpx.Client(
                base_url=url,
                timeout=30,
                headers={"Authorization": f"Bearer {stack.token}", "X-Workspace": workspace},
            ) as owner,
        ):
            made = owner.post("/api/v1/invitations", json={"email": address, "role": "member"})
            assert made.status_code == 201, made.text
            assert made.json()["mailed"] is True
            assert made.json()["link"] is None, "a mailed link is not shown"
            (recipients, text), *_ = inbox.messages
            assert recipients == [address]
            assert f"workspace {workspace}" in text
            assert "https://runwright.example.test/console/accept#token=inv_" in text
            token = text.split("#token=", 1)[1].split()[0]
            smtp.stop()
            stopped = True
            resent = owner.post(f"/api/v1/invitations/{made.json()['id']}/resend")
            assert resent.status_code == 200
            assert resent.json()["mailed"] is False, "the mail server is gone"
            assert resent.json()["link"].startswith("https://runwright.example.test/console/")
        with browser(stack) as person:
            stale = person.post(
                "/api/v1/invitations/accept", json={"token": token, "password": PASSWORD}
            )
            assert stale.status_code == 404, "the resent link replaced the mailed one"
            fresh = token_of(resent.json()["link"])
            accepted = person.post(
                "/api/v1/invitations/accept", json={"token": fresh, "password": PASSWORD}
            )
            assert accepted.status_code == 200, accepted.text
    finally:
        if not stopped:
            smtp.stop()
