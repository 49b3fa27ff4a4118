"""Single sign-on through OpenID Connect: the authorization code flow with PKCE (S256) against any
standards-compliant provider, found from ``{issuer}/.well-known/openid-configuration``.

``GET /console/sso/start`` sends the browser to the provider. The sign-in's state, nonce and PKCE
verifier are kept in ``gateway.oidc_logins`` (only the state's SHA-256 as the key, so any replica
can finish it), and the state is also set in a short-lived HttpOnly, SameSite=Lax cookie, which
binds the answer to the browser that asked. ``GET /console/sso/callback`` takes the row (once:
it is deleted), checks the state against the cookie, exchanges the code with the verifier,
verifies the ID token (signature against the provider's JWKS, ``iss``, ``aud``/``azp``, ``exp``,
``iat``, ``nonce``) with joserfc, then finds the person by their subject (``iss`` + ``sub``) or
e-mail address (``email_verified`` must be true when sent), creates them when new, applies
:data:`~runwright_gateway.settings.GatewaySettings.oidc_role_map` to their memberships, accepts
their pending invitations and starts a console session exactly as a password sign-in does. The
session cookie is SameSite=Strict, so the callback sets it itself (the provider's redirect is
cross-site) and sends the browser on to ``/console/jobs``. Anything wrong ends at
``/console/jobs?signin=sso_failed`` with a warning in the log; a person the gateway has no
workspace for gets a page saying so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

import asyncpg
import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.response import Redirect
from runwright_common.logging import get_logger

from runwright_gateway import audit, passwords, people, sessions
from runwright_gateway.permissions import MEMBERSHIP_ROLES, Role
from runwright_gateway.settings import GatewaySettings

log = get_logger("runwright.gateway.sso")

STATE_COOKIE = "runwright_sso"
COOKIE_PATH = "/console/sso"
CALLBACK = "/console/sso/callback"
FAILED = "/console/jobs?signin=sso_failed"
LOGIN_TTL_S = 600
"""How long a sign-in may take at the provider."""
METADATA_TTL_S = 3600.0
JWKS_REFRESH_S = 60.0
"""An ID token signed with a key not in the cached set fetches the set again, at most this often."""
HTTP_TIMEOUT_S = 10.0
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""Signatures accepted on ID tokens: asymmetric ones only (never ``none``, nor HMAC)."""
LEEWAY_S = 60
CREATED_BY = "sso"


class SsoFailed(Exception):
    """A sign-in that cannot go on: logged as a warning (with ``context``), answered with
    :data:`FAILED`."""

    def __init__(self, why: str, **context: Any) -> None:
        super().__init__(why)
        self.why, self.context = why, context


class NoAccess(Exception):
    """A first-time person with no mapped group, no invitation and no default workspace."""

    def __init__(self, email: str) -> None:
        super().__init__(email)
        self.email = email


@dataclass(frozen=True, slots=True)
class Grant:
    workspace: str
    role: str


def role_map(raw: Mapping[str, str | list[str]]) -> dict[str, list[Grant]]:
    """``RUNWRIGHT_OIDC_ROLE_MAP`` read: group -> the memberships it gives. Each value is
    ``"<workspace>:<role>"`` or a list of them; raises ValueError naming a bad one."""
    grants: dict[str, list[Grant]] = {}
    for group, given in raw.items():
        for entry in [given] if isinstance(given, str) else given:
            workspace, sep, role = entry.rpartition(":")
            if not sep or not workspace or role not in MEMBERSHIP_ROLES:
                raise ValueError(
                    f"RUNWRIGHT_OIDC_ROLE_MAP: group {group!r} maps to {entry!r}; expected "
                    f'"<workspace>:<role>" with a role of {", ".join(MEMBERSHIP_ROLES)}'
                )
            grants.setdefault(group, []).append(Grant(workspace, role))
    return grants


def check(settings: GatewaySettings) -> None:
    """Refuse SSO settings that cannot work (at start-up, naming the variable)."""
    role_map(settings.oidc_role_map)
    if settings.oidc_default_role not in MEMBERSHIP_ROLES:
        raise ValueError(
            f"RUNWRIGHT_OIDC_DEFAULT_ROLE: {settings.oidc_default_role!r} is not one of "
            + ", ".join(MEMBERSHIP_ROLES)
        )


def configured(settings: GatewaySettings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def groups_of(claims: Mapping[str, Any], name: str) -> list[str]:
    """The groups claim as a list of names (a single string counts as one group)."""
    value = claims.get(name)
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def wanted(grants: Mapping[str, list[Grant]], groups: list[str]) -> dict[str, str]:
    """workspace -> role the person's groups give (the highest, when several name one)."""
    found: dict[str, str] = {}
    for group in groups:
        for grant in grants.get(group, []):
            held = found.get(grant.workspace)
            if held is None or Role.named(grant.role) > Role.named(held):
                found[grant.workspace] = grant.role
    return found


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass
class Provider:
    """The provider's metadata and signing keys, fetched when first needed and kept a while."""

    issuer: str
    metadata: dict[str, Any] = field(default_factory=dict)
    fetched_at: float = 0.0
    keys: KeySet | None = None
    keys_at: float = 0.0

    async def discover(self, http: httpx.AsyncClient) -> dict[str, Any]:
        if self.metadata and time.monotonic() - self.fetched_at < METADATA_TTL_S:
            return self.metadata
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        found = await _json(http.get(url), "discovery")
        if str(found.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
            raise SsoFailed(
                "the provider's metadata names another issuer", issuer=found.get("issuer")
            )
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(found.get(name), str):
                raise SsoFailed(f"the provider's metadata has no {name}")
        methods = found.get("code_challenge_methods_supported")
        if isinstance(methods, list) and "S256" not in methods:
            raise SsoFailed("the provider does not support PKCE with S256", methods=methods)
        self.metadata, self.fetched_at = found, time.monotonic()
        return found

    async def key_set(self, http: httpx.AsyncClient, *, refresh: bool = False) -> KeySet:
        stale = refresh and time.monotonic() - self.keys_at >= JWKS_REFRESH_S
        if self.keys is not None and not stale:
            return self.keys
        jwks = await _json(http.get(self.metadata["jwks_uri"]), "JWKS")
        usable = [
            k for k in jwks.get("keys", []) if isinstance(k, dict) and k.get("use", "sig") == "sig"
        ]
        try:
            self.keys = KeySet.import_key_set({"keys": usable})
        except (JoseError, ValueError, TypeError) as exc:
            raise SsoFailed("the provider's JWKS cannot be read", error=str(exc)) from exc
        self.keys_at = time.monotonic()
        return self.keys

    def algorithms(self) -> list[str]:
        offered = self.metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        chosen = [a for a in offered if a in ALGORITHMS]
        if not chosen:
            raise SsoFailed("the provider signs ID tokens with no algorithm accepted here")
        return chosen


async def _json(pending: Any, what: str) -> dict[str, Any]:
    try:
        answer: httpx.Response = await pending
    except httpx.HTTPError as exc:
        raise SsoFailed(f"the provider's {what} cannot be reached", error=str(exc)) from exc
    if answer.status_code != 200:
        raise SsoFailed(f"the provider's {what} answered {answer.status_code}")
    try:
        body = answer.json()
    except ValueError as exc:
        raise SsoFailed(f"the provider's {what} is not JSON") from exc
    if not isinstance(body, dict):
        raise SsoFailed(f"the provider's {what} is not a JSON object")
    return body


def provider(request: Request[Any, Any, Any]) -> Provider:
    """This gateway's cached :class:`Provider` (one per issuer)."""
    issuer = request.app.state.settings.oidc_issuer
    found: Provider | None = request.app.state.get("oidc_provider")
    if found is None or found.issuer != issuer:
        found = Provider(issuer)
        request.app.state.oidc_provider = found
    return found


def redirect_uri(request: Request[Any, Any, Any]) -> str:
    base = request.app.state.settings.public_url or str(request.base_url)
    return base.rstrip("/") + CALLBACK


def _http() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, follow_redirects=False)


@get("/console/sso", include_in_schema=False)
async def sso_state(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """Whether the console offers "Sign in with <label>" and where its button goes."""
    settings: GatewaySettings = request.app.state.settings
    return {
        "enabled": configured(settings),
        "label": settings.oidc_label or "SSO",
        "start": "/console/sso/start",
    }


def _state_cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    return Cookie(
        key=STATE_COOKIE,
        value=value,
        path=COOKIE_PATH,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


@get("/console/sso/start", include_in_schema=False)
async def sso_start(request: Request[Any, Any, Any]) -> Response[Any]:
    settings: GatewaySettings = request.app.state.settings
    if not configured(settings):
        log.warning("sso sign-in asked for, but no provider is configured")
        return Redirect(FAILED, status_code=302)
    found = provider(request)
    try:
        async with _http() as http:
            metadata = await found.discover(http)
    except SsoFailed as failed:
        log.warning("sso sign-in not started", why=failed.why, **failed.context)
        return Redirect(FAILED, status_code=302)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    callback = redirect_uri(request)
    pool: asyncpg.Pool = request.app.state.pool
    await pool.execute("DELETE FROM gateway.oidc_logins WHERE expires_at < now()")
    await pool.execute(
        "INSERT INTO gateway.oidc_logins (digest, nonce, verifier, redirect, expires_at)"
        " VALUES ($1, $2, $3, $4, now() + $5)",
        sessions.digest(state),
        nonce,
        verifier,
        callback,
        timedelta(seconds=LOGIN_TTL_S),
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.oidc_client_id,
            "redirect_uri": callback,
            "scope": settings.oidc_scopes,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    endpoint = metadata["authorization_endpoint"]
    url = f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
    return Redirect(url, status_code=302, cookies=[_state_cookie(request, state, LOGIN_TTL_S)])


@get("/console/sso/callback", include_in_schema=False)
async def sso_callback(request: Request[Any, Any, Any]) -> Response[Any]:
    """The provider's answer. Never a 500: anything wrong is a warning and ``sso_failed``."""
    gone = _state_cookie(request, "", 0)
    try:
        return await _finish(request, gone)
    except NoAccess as refused:
        log.warning("sso sign-in refused: no workspace for this person", email=refused.email)
        audit.note(
            request,
            actor=f"user:{refused.email}",
            outcome="denied",
            detail={"method": "sso", "refused": "no workspace"},
        )
        return Response(
            _no_access_page(refused.email),
            status_code=403,
            media_type="text/html",
            cookies=[gone],
            headers={"Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'"},
        )
    except SsoFailed as failed:
        log.warning("sso sign-in failed", why=failed.why, **failed.context)
        why = failed.why
    except Exception as exc:  # the promise: a redirect, never a 500
        log.warning("sso sign-in failed", why="unexpected error", error=repr(exc)[:300])
        why = "unexpected error"
    audit.note(request, actor="anonymous", outcome="denied", detail={"method": "sso", "why": why})
    return Redirect(FAILED, status_code=302, cookies=[gone])


def _no_access_page(email: str) -> bytes:
    shown = html.escape(email)
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>No workspace</title>"
        "<body style='font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto'>"
        "<h1>Signed in, but no workspace</h1>"
        f"<p>Your single sign-on account <strong>{shown}</strong> is not a member of any "
        "Runwright workspace, and none is given to new accounts. Ask a workspace owner to invite "
        "this address, or to map one of your groups to a workspace; then sign in again.</p>"
        "<p><a href='/console/jobs'>Back to sign-in</a></p></body></html>"
    ).encode()


async def _finish(request: Request[Any, Any, Any], gone: Cookie) -> Response[Any]:
    settings: GatewaySettings = request.app.state.settings
    if not configured(settings):
        raise SsoFailed("no provider is configured")
    params = request.query_params
    state = params.get("state") or ""
    kept = request.cookies.get(STATE_COOKIE, "")
    if not state or not kept or not hmac.compare_digest(state.encode(), kept.encode()):
        raise SsoFailed("the state does not match this browser's sign-in")
    pool: asyncpg.Pool = request.app.state.pool
    login = await pool.fetchrow(
        "DELETE FROM gateway.oidc_logins WHERE digest = $1 RETURNING nonce, verifier, redirect,"
        " expires_at > now() AS live",
        sessions.digest(state),
    )
    if login is None or not login["live"]:
        raise SsoFailed("the sign-in is unknown, used already or too old")
    if params.get("error"):
        raise SsoFailed(
            "the provider refused the sign-in",
            error=str(params.get("error"))[:100],
            description=str(params.get("error_description") or "")[:300],
        )
    code = params.get("code") or ""
    if not code:
        raise SsoFailed("the provider's answer has no code")
    found = provider(request)
    async with _http() as http:
        metadata = await found.discover(http)
        answered_by = params.get("iss")
        if answered_by is not None and answered_by != metadata["issuer"]:
            raise SsoFailed("the answer names another issuer (RFC 9207)", iss=answered_by)
        tokens = await _exchange(http, settings, metadata, code, login)
        claims = await _verified(http, found, settings, tokens, login["nonce"])
        claims = await _with_userinfo(http, settings, metadata, tokens, claims)
    user_id, email, joined = await admit(pool, settings, metadata["issuer"], claims)
    audit.note(
        request,
        actor=f"user:{email}",
        detail={"method": "sso", "workspaces": joined},
    )
    cookie = await sessions.begin(request, user_id=user_id)
    log.info("sso sign-in", email=email, issuer=metadata["issuer"])
    return Redirect("/console/jobs", status_code=302, cookies=[cookie, gone])


async def _exchange(
    http: httpx.AsyncClient,
    settings: GatewaySettings,
    metadata: Mapping[str, Any],
    code: str,
    login: asyncpg.Record,
) -> dict[str, Any]:
    """The token endpoint's answer to the code and the PKCE verifier."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": login["redirect"],
        "code_verifier": login["verifier"],
        "client_id": settings.oidc_client_id,
    }
    headers = {"Accept": "application/json"}
    if settings.oidc_client_secret:
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if "client_secret_basic" in methods:
            # RFC 6749 2.3.1: both are form-encoded before they go into the Basic header, and
            # the client authenticates one way only (so client_id leaves the form).
            pair = f"{quote(form.pop('client_id'), safe='')}:"
            pair += quote(settings.oidc_client_secret, safe="")
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form["client_secret"] = settings.oidc_client_secret
    try:
        answer = await http.post(metadata["token_endpoint"], data=form, headers=headers)
    except httpx.HTTPError as exc:
        raise SsoFailed("the token endpoint cannot be reached", error=str(exc)) from exc
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if answer.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        raise SsoFailed(
            "the token endpoint refused the code", status=answer.status_code, error=error
        )
    if not isinstance(body.get("id_token"), str):
        raise SsoFailed("the token endpoint sent no ID token")
    return body


async def _verified(
    http: httpx.AsyncClient,
    found: Provider,
    settings: GatewaySettings,
    tokens: Mapping[str, Any],
    nonce: str,
) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, times and nonce hold."""
    algorithms = found.algorithms()
    token = None
    for refresh in (False, True):
        keys = await found.key_set(http, refresh=refresh)
        try:
            token = jwt.decode(tokens["id_token"], keys, algorithms=algorithms)
            break
        except JoseError as exc:
            if refresh:
                raise SsoFailed("the ID token's signature does not verify", error=str(exc)) from exc
        except ValueError as exc:  # joserfc: no key in the set matches the token's kid
            if refresh:
                why = "the ID token is signed with an unknown key"
                raise SsoFailed(why, error=str(exc)) from exc
    assert token is not None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=LEEWAY_S,
        iss={"essential": True, "value": found.metadata["issuer"]},
        aud={"essential": True, "value": settings.oidc_client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise SsoFailed("the ID token's claims do not hold", error=str(exc)) from exc
    audience = claims["aud"]
    if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") is None:
        raise SsoFailed("the ID token has several audiences and no azp")
    if claims.get("azp") not in (None, settings.oidc_client_id):
        raise SsoFailed("the ID token was issued to another client", azp=claims.get("azp"))
    return claims


async def _with_userinfo(
    http: httpx.AsyncClient,
    settings: GatewaySettings,
    metadata: Mapping[str, Any],
    tokens: Mapping[str, Any],
    claims: dict[str, Any],
) -> dict[str, Any]:
    """Providers that keep ``email`` (or the groups) out of the ID token give them at the userinfo
    endpoint: asked for only then, for the same ``sub``; the ID token's claims win."""
    needs = "email" not in claims or (
        settings.oidc_role_map and settings.oidc_groups_claim not in claims
    )
    endpoint, access = metadata.get("userinfo_endpoint"), tokens.get("access_token")
    if not needs or not isinstance(endpoint, str) or not isinstance(access, str):
        return claims
    asked = http.get(endpoint, headers={"Authorization": f"Bearer {access}"})
    info = await _json(asked, "userinfo")
    if info.get("sub") != claims["sub"]:
        raise SsoFailed("the userinfo is about another subject")
    return {**info, **claims}


PENDING = (
    "SELECT * FROM gateway.invitations WHERE lower(email) = lower($1) AND accepted_at IS NULL"
    " AND cancelled_at IS NULL AND expires_at > now() ORDER BY created_at FOR UPDATE"
)


async def admit(
    pool: asyncpg.Pool, settings: GatewaySettings, issuer: str, claims: Mapping[str, Any]
) -> tuple[UUID, str, list[str]]:
    """The person these verified claims name: (user id, e-mail, the workspaces the sign-in
    added them to or changed their role in). Raises :class:`NoAccess` for a new person nothing
    gives a workspace, :class:`SsoFailed` for claims that cannot name one."""
    subject, email = claims["sub"], claims.get("email")
    if not isinstance(email, str) or "@" not in email or not 3 <= len(email) <= 254:
        raise SsoFailed("the provider sent no usable e-mail address")
    verified = claims.get("email_verified")
    if verified is not None and verified not in (True, "true"):
        raise SsoFailed("the provider says the e-mail address is not verified", email=email)
    grants = wanted(role_map(settings.oidc_role_map), groups_of(claims, settings.oidc_groups_claim))
    async with pool.acquire() as conn, conn.transaction():
        user = await conn.fetchrow(
            "SELECT u.* FROM gateway.oidc_identities i JOIN gateway.users u ON u.id = i.user_id"
            " WHERE i.issuer = $1 AND i.subject = $2",
            issuer,
            subject,
        )
        if user is None:
            user = await people.by_email(conn, email)
            if user is not None and await conn.fetchval(
                "SELECT EXISTS (SELECT FROM gateway.oidc_identities"
                " WHERE user_id = $1 AND issuer = $2)",
                user["id"],
                issuer,
            ):
                raise SsoFailed(
                    "the address belongs to an account linked to another subject", email=email
                )
        invitations = await conn.fetch(PENDING, email)
        existing = await _existing(conn, grants)
        default = settings.oidc_default_workspace
        if default and not await _existing(conn, {default: settings.oidc_default_role}):
            log.warning("RUNWRIGHT_OIDC_DEFAULT_WORKSPACE names no workspace", workspace=default)
            default = ""
        if user is None and not existing and not invitations and not default:
            raise NoAccess(email)
        if user is None:
            name = claims.get("name") or claims.get("preferred_username") or email.split("@")[0]
            unusable = await passwords.hashed(secrets.token_urlsafe(32))
            user = await people.create_user(conn, email, str(name)[:200] or email, unusable)
        user_id: UUID = user["id"]
        await conn.execute(
            "INSERT INTO gateway.oidc_identities (issuer, subject, user_id, email)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (issuer, subject)"
            " DO UPDATE SET last_signin_at = now(), email = EXCLUDED.email",
            issuer,
            subject,
            user_id,
            email,
        )
        joined = [ws for ws, role in existing.items() if await _grant(conn, user_id, ws, role)]
        for invitation in invitations:
            await people.join(conn, invitation, user_id)
            joined.append(invitation["workspace"])
        if default and not await conn.fetchval(
            "SELECT EXISTS (SELECT FROM gateway.memberships WHERE user_id = $1)", user_id
        ):
            await _grant(conn, user_id, default, settings.oidc_default_role)
            joined.append(default)
    return user_id, str(user["email"]), joined


async def _existing(conn: asyncpg.Connection, grants: Mapping[str, str]) -> dict[str, str]:
    """The grants whose workspace exists (a mapped one that does not is logged and skipped)."""
    if not grants:
        return {}
    rows = await conn.fetch(
        "SELECT slug FROM gateway.workspaces WHERE slug = ANY($1::text[])", list(grants)
    )
    there = {r["slug"] for r in rows}
    for missing in sorted(set(grants) - there):
        log.warning("RUNWRIGHT_OIDC_ROLE_MAP names no such workspace", workspace=missing)
    return {ws: role for ws, role in grants.items() if ws in there}


async def _grant(conn: asyncpg.Connection, user_id: UUID, workspace: str, role: str) -> bool:
    """Create the membership, or set its role; answers whether anything changed. The last owner
    of a workspace is never demoted this way."""
    held = await conn.fetchval(
        "SELECT role FROM gateway.memberships WHERE workspace = $1 AND user_id = $2 FOR UPDATE",
        workspace,
        user_id,
    )
    if held == role:
        return False
    if held is None:
        await conn.execute(
            "INSERT INTO gateway.memberships (workspace, user_id, role, created_by)"
            " VALUES ($1, $2, $3, $4)",
            workspace,
            user_id,
            role,
            CREATED_BY,
        )
        return True
    if held == "owner" and await people.owners(conn, workspace) <= 1:
        log.warning("sso keeps the last owner of a workspace an owner", workspace=workspace)
        return False
    await conn.execute(
        "UPDATE gateway.memberships SET role = $3 WHERE workspace = $1 AND user_id = $2",
        workspace,
        user_id,
        role,
    )
    return True


ROUTES = [sso_state, sso_start, sso_callback]
