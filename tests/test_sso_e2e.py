"""Single sign-on through a real OpenID Connect provider on loopback (panva's certified
``oidc-provider``, run by tests/support/oidc/provider.mjs with its development login pages),
against a second gateway process configured for it: the code flow with PKCE driven through the
provider's login and consent forms, groups mapped to roles, invitations accepted, and the
sign-ins that must fail (a tampered state, a replayed code, a wrong nonce, an unverified address,
a person nothing gives a workspace)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import asyncpg
import httpx
import pytest
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack
from support.stack import another_gateway_env

pytestmark = pytest.mark.e2e

PROVIDER_DIR = Path(__file__).parent / "support" / "oidc"
CLIENT_ID, CLIENT_SECRET = "runwright", "a-secret-for-tests-only"
PUBLIC_CLIENT_ID = "runwright-public"
FAILED = "/console/jobs?signin=sso_failed"


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


async def sql(stack: Stack, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        rows: list[asyncpg.Record] = await connection.fetch(query, *args)
        return rows
    finally:
        await connection.close()


def _installed() -> None:
    """The provider's npm packages (``make install`` puts them there; else installed now from
    the committed lockfile)."""
    if (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed for the OpenID Connect provider")
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PROVIDER_DIR,
        check=True,
        timeout=300,
    )


def _ready(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited: {proc.returncode}")
        time.sleep(0.1)
    raise AssertionError(f"{what} did not start")


@dataclass
class Provider:
    url: str
    accounts_file: Path
    public_port: int
    """Where a gateway that is the provider's public client (no secret: PKCE alone) listens."""

    def account(self, *, groups: list[str] | None = None, **claims: Any) -> tuple[str, str]:
        """A new account at the provider: (its login, its e-mail address)."""
        login = f"p-{uuid.uuid4().hex[:10]}"
        email = f"{login}@sso.example.test"
        accounts = json.loads(self.accounts_file.read_text())
        accounts[login] = {
            "email": email,
            "email_verified": True,
            "name": login.title(),
            "groups": groups or [],
            **claims,
        }
        self.accounts_file.write_text(json.dumps(accounts))
        return login, str(accounts[login]["email"])


@dataclass
class Gateway:
    url: str
    workspace: str
    """Mapped from the provider's ``ops`` (developer) and ``leads`` (admin) groups."""
    log: Path

    def warned(self, why: str) -> bool:
        """Whether the gateway logged a failed SSO sign-in for this reason."""
        for _ in range(50):
            lines = self.log.read_text(errors="replace").splitlines()
            if any("sso sign-in failed" in line and why in line for line in lines):
                return True
            time.sleep(0.1)
        return False


@contextmanager
def _process(
    args: list[str], env: dict[str, str], log: Path, ready: str, what: str, cwd: Path | None = None
) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=out, cwd=cwd)
        try:
            _ready(ready, proc, what)
            yield
        finally:
            proc.terminate()
            proc.wait(20)


@contextmanager
def sso_gateway(stack: Stack, port: int, issuer: str, **settings: str) -> Iterator[Path]:
    """A gateway process on the stack's NATS and PostgreSQL with SSO set (``settings``: the
    ``RUNWRIGHT_OIDC_*`` and other variables): its log."""
    env = another_gateway_env(stack, port)
    env.update({"RUNWRIGHT_OIDC_ISSUER": issuer, **settings})
    log = stack.log_dir / f"gateway-{port}.log"
    with _process(
        [sys.executable, "-m", "runwright_gateway"],
        env,
        log,
        f"http://127.0.0.1:{port}/readyz",
        "the SSO gateway",
    ):
        yield log


def new_workspace(stack: Stack, prefix: str) -> str:
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=30
    ) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": slug}).status_code == 201
    return slug


@pytest.fixture(scope="module")
def sso(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Provider, Gateway]]:
    """The provider, and a gateway that is its confidential client (with a secret)."""
    _installed()
    provider_port, gateway_port, public_port = free_port(), free_port(), free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    accounts = tmp_path_factory.mktemp("oidc") / "accounts.json"
    accounts.write_text("{}")
    clients = [
        {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "redirect_uris": [f"http://127.0.0.1:{gateway_port}/console/sso/callback"],
        },
        {
            "client_id": PUBLIC_CLIENT_ID,
            "token_endpoint_auth_method": "none",
            "redirect_uris": [f"http://127.0.0.1:{public_port}/console/sso/callback"],
        },
    ]
    provider_env = {
        **os.environ,
        "PORT": str(provider_port),
        "CLIENTS": json.dumps(clients),
        "ACCOUNTS": str(accounts),
    }
    workspace = new_workspace(stack, "sso")
    with (
        _process(
            ["node", "provider.mjs"],
            provider_env,
            stack.log_dir / f"oidc-provider-{provider_port}.log",
            f"{issuer}/.well-known/openid-configuration",
            "the OpenID Connect provider",
            cwd=PROVIDER_DIR,
        ),
        sso_gateway(
            stack,
            gateway_port,
            issuer,
            RUNWRIGHT_OIDC_CLIENT_ID=CLIENT_ID,
            RUNWRIGHT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
            RUNWRIGHT_OIDC_SCOPES="openid email profile groups",
            RUNWRIGHT_OIDC_ROLE_MAP=json.dumps(
                {"ops": f"{workspace}:developer", "leads": [f"{workspace}:admin"]}
            ),
            RUNWRIGHT_OIDC_LABEL="Test IdP",
        ) as log,
    ):
        yield (
            Provider(issuer, accounts, public_port),
            Gateway(f"http://127.0.0.1:{gateway_port}", workspace, log),
        )


def to_callback(client: httpx.Client, provider: Provider, gateway: Gateway, login: str) -> str:
    """Start a sign-in at the gateway and go through the provider's login and consent forms as
    a browser would: the URL the provider sends the browser back to (not yet visited)."""
    started = client.get(f"{gateway.url}/console/sso/start")
    assert started.status_code == 302, started.text
    url = started.headers["location"]
    asked = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{provider.url}/auth?")
    assert asked["code_challenge_method"] == ["S256"]
    assert asked["client_id"][0] in (CLIENT_ID, PUBLIC_CLIENT_ID)
    assert asked["redirect_uri"] == [f"{gateway.url}/console/sso/callback"]
    assert "code_verifier" not in asked
    for _ in range(20):
        if url.startswith(f"{gateway.url}/console/sso/callback"):
            return url
        answer = client.get(url)
        if answer.status_code == 200:
            action = re.search(r'<form[^>]*action="([^"]+)"', answer.text)
            assert action is not None, answer.text[:2000]
            form = (
                {"prompt": "login", "login": login, "password": "any password"}
                if 'name="login"' in answer.text
                else {"prompt": "consent"}
            )
            answer = client.post(urljoin(url, action.group(1)), data=form)
        assert answer.status_code in (302, 303), (answer.status_code, answer.text[:2000])
        url = urljoin(url, answer.headers["location"])
    raise AssertionError("the provider never sent the browser back")


def sign_in(
    provider: Provider, gateway: Gateway, login: str
) -> tuple[httpx.Client, httpx.Response]:
    """A browser's whole SSO sign-in: (its client, the gateway's answer to the callback)."""
    client = httpx.Client(timeout=30)
    callback = to_callback(client, provider, gateway, login)
    return client, client.get(callback)


def signed_in(client: httpx.Client, answer: httpx.Response) -> bool:
    return (
        answer.status_code == 302
        and answer.headers["location"] == "/console/jobs"
        and bool(client.cookies.get("runwright_session"))
    )


def refused(client: httpx.Client, answer: httpx.Response) -> None:
    assert answer.status_code == 302, answer.text
    assert answer.headers["location"] == FAILED
    assert "runwright_session" not in client.cookies


def me(client: httpx.Client, gateway: Gateway, workspace: str | None = None) -> dict[str, Any]:
    headers = {"X-Workspace": workspace} if workspace else {}
    answer = client.get(f"{gateway.url}/api/v1/me", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def audit_rows(stack: Stack, actor: str) -> list[asyncpg.Record]:
    for _ in range(50):
        rows = _run(
            sql(
                stack,
                "SELECT * FROM gateway.audit WHERE actor = $1 AND action = 'signin' ORDER BY at",
                actor,
            )
        )
        if rows:
            return rows
        time.sleep(0.1)
    return []


def test_the_console_is_told_whether_sso_is_offered(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    _, gateway = sso
    offered = httpx.get(f"{gateway.url}/console/sso", timeout=30).json()
    assert offered == {"enabled": True, "label": "Test IdP", "start": "/console/sso/start"}
    plain = httpx.get(f"{stack.gateway_url}/console/sso", timeout=30).json()
    assert plain["enabled"] is False
    started = httpx.get(f"{stack.gateway_url}/console/sso/start", timeout=30)
    assert (started.status_code, started.headers["location"]) == (302, FAILED)


def test_a_person_in_a_mapped_group_signs_in_with_the_mapped_role(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    provider, gateway = sso
    login, email = provider.account(groups=["ops", "unmapped"])
    client, answer = sign_in(provider, gateway, login)
    with closing(client):
        assert signed_in(client, answer), (answer.status_code, answer.headers, answer.text)
        assert "runwright_sso=" in answer.headers.get("set-cookie", ""), "the state cookie goes"
        found = me(client, gateway)
        assert found["actor"] == f"user:{email}"
        assert (found["workspace"], found["role"]) == (gateway.workspace, "developer")
        assert [w["slug"] for w in found["workspaces"]] == [gateway.workspace]
    linked = _run(sql(stack, "SELECT * FROM gateway.oidc_identities WHERE subject = $1", login))
    assert [(r["issuer"], r["email"]) for r in linked] == [(provider.url, email)]
    rows = audit_rows(stack, f"user:{email}")
    assert rows, "the SSO sign-in is in the audit log"
    assert rows[-1]["outcome"] == "ok"
    detail = json.loads(rows[-1]["detail"])
    assert detail["method"] == "sso"
    assert detail["operation"] == "GET /console/sso/callback"
    assert detail["workspaces"] == [gateway.workspace]

    # The next sign-in follows the groups: a new one raises the role; a membership the map does
    # not name is kept; the same account (its subject) is found again.
    other = f"kept-{uuid.uuid4().hex[:6]}"
    with httpx.Client(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=30
    ) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": other}).status_code == 201
    _run(
        sql(
            stack,
            "INSERT INTO gateway.memberships (workspace, user_id, role, created_by)"
            " SELECT $1, id, 'viewer', 'test' FROM gateway.users WHERE lower(email) = $2",
            other,
            email,
        )
    )
    accounts = json.loads(provider.accounts_file.read_text())
    accounts[login]["groups"] = ["ops", "leads"]
    provider.accounts_file.write_text(json.dumps(accounts))
    client, answer = sign_in(provider, gateway, login)
    with closing(client):
        assert signed_in(client, answer)
        assert me(client, gateway, gateway.workspace)["role"] == "admin"
        assert me(client, gateway, other)["role"] == "viewer"
    users = _run(
        sql(stack, "SELECT count(*) AS n FROM gateway.users WHERE lower(email) = $1", email)
    )
    assert users[0]["n"] == 1


def test_a_tampered_state_is_refused(sso: tuple[Provider, Gateway]) -> None:
    provider, gateway = sso
    login, _ = provider.account(groups=["ops"])
    with httpx.Client(timeout=30) as client:
        callback = to_callback(client, provider, gateway, login)
        parts = urlsplit(callback)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
        tampered = client.get(f"{gateway.url}{parts.path}?{urlencode(query)}")
        refused(client, tampered)
    assert gateway.warned("the state does not match")
    with httpx.Client(timeout=30) as browser, httpx.Client(timeout=30) as stranger:
        # Another browser (without the state cookie) cannot finish the sign-in either.
        callback = to_callback(browser, provider, gateway, login)
        refused(stranger, stranger.get(callback))


def test_a_replayed_code_is_refused(sso: tuple[Provider, Gateway]) -> None:
    provider, gateway = sso
    login, _ = provider.account(groups=["ops"])
    with httpx.Client(timeout=30) as client:
        callback = to_callback(client, provider, gateway, login)
        state = client.cookies.get("runwright_sso", path="/console/sso")
        assert signed_in(client, client.get(callback))
        client.cookies.delete("runwright_session")
        client.cookies.set("runwright_sso", state, domain="127.0.0.1", path="/console/sso")
        refused(client, client.get(callback))
        # The same code under a new sign-in's state reaches the provider, which refuses it.
        code = parse_qs(urlsplit(callback).query)["code"][0]
        fresh = client.get(f"{gateway.url}/console/sso/start")
        new_state = parse_qs(urlsplit(fresh.headers["location"]).query)["state"][0]
        query = urlencode({"code": code, "state": new_state, "iss": provider.url})
        refused(client, client.get(f"{gateway.url}/console/sso/callback?{query}"))
    assert gateway.warned("used already")
    assert gateway.warned("invalid_grant")


def test_an_id_token_with_another_nonce_is_refused(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    provider, gateway = sso
    login, _ = provider.account(groups=["ops"])
    with httpx.Client(timeout=30) as client:
        callback = to_callback(client, provider, gateway, login)
        state = parse_qs(urlsplit(callback).query)["state"][0]
        changed = _run(
            sql(
                stack,
                "UPDATE gateway.oidc_logins SET nonce = 'not-the-one-sent' WHERE digest = $1"
                " RETURNING digest",
                hashlib.sha256(state.encode()).digest(),
            )
        )
        assert len(changed) == 1
        refused(client, client.get(callback))
    assert gateway.warned("nonce")


def test_the_provider_refusing_or_an_unverified_address_fails_cleanly(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    provider, gateway = sso
    with httpx.Client(timeout=30) as client:
        started = client.get(f"{gateway.url}/console/sso/start")
        state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
        query = urlencode({"error": "access_denied", "state": state})
        refused(client, client.get(f"{gateway.url}/console/sso/callback?{query}"))
    login, email = provider.account(groups=["ops"], email_verified=False)
    client, answer = sign_in(provider, gateway, login)
    with closing(client):
        refused(client, answer)
    assert not _run(sql(stack, "SELECT 1 FROM gateway.users WHERE lower(email) = $1", email))


def test_a_new_person_with_no_mapped_group_and_no_invitation_is_refused(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    provider, gateway = sso
    login, email = provider.account(groups=["nobody-maps-this"])
    client, answer = sign_in(provider, gateway, login)
    with closing(client):
        assert answer.status_code == 403
        assert "no workspace" in answer.text
        assert email in answer.text
        assert "runwright_session" not in client.cookies
    assert not _run(sql(stack, "SELECT 1 FROM gateway.users WHERE lower(email) = $1", email))
    rows = audit_rows(stack, f"user:{email}")
    assert rows
    assert rows[-1]["outcome"] == "denied"


def test_an_invited_address_joins_the_invited_workspace(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    provider, gateway = sso
    invited_to = f"inv-{uuid.uuid4().hex[:6]}"
    login, email = provider.account()
    with httpx.Client(
        base_url=stack.gateway_url, headers={"Authorization": f"Bearer {stack.token}"}, timeout=30
    ) as admin:
        assert admin.post("/api/v1/workspaces", json={"slug": invited_to}).status_code == 201
        made = admin.post(
            "/api/v1/invitations",
            json={"email": email.upper(), "role": "member"},
            headers={"X-Workspace": invited_to},
        )
        assert made.status_code == 201, made.text
        client, answer = sign_in(provider, gateway, login)
        with closing(client):
            assert signed_in(client, answer)
            found = me(client, gateway)
            assert found["actor"] == f"user:{email}"
            assert (found["workspace"], found["role"]) == (invited_to, "member")
        listed = admin.get("/api/v1/invitations", headers={"X-Workspace": invited_to}).json()
        assert [i["status"] for i in listed["items"] if i["id"] == made.json()["id"]] == [
            "accepted"
        ]


def test_a_public_client_signs_in_with_pkce_alone_into_the_default_workspace(
    stack: Stack, sso: tuple[Provider, Gateway]
) -> None:
    provider, _ = sso
    default = new_workspace(stack, "dflt")
    url = f"http://127.0.0.1:{provider.public_port}"
    with sso_gateway(
        stack,
        provider.public_port,
        provider.url,
        RUNWRIGHT_OIDC_CLIENT_ID=PUBLIC_CLIENT_ID,
        RUNWRIGHT_OIDC_DEFAULT_WORKSPACE=default,
        RUNWRIGHT_OIDC_DEFAULT_ROLE="member",
        RUNWRIGHT_PUBLIC_URL=url + "/",
    ) as log:
        gateway = Gateway(url, default, log)
        login, email = provider.account(groups=["ops"])
        client, answer = sign_in(provider, gateway, login)
        with closing(client):
            assert signed_in(client, answer), answer.text
            found = me(client, gateway)
            assert found["actor"] == f"user:{email}"
            assert (found["workspace"], found["role"]) == (default, "member")
            assert [w["slug"] for w in found["workspaces"]] == [default], "no map here"
