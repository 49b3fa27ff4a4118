"""The audit log: one append-only row (``gateway.audit``) for every request that changes
something, refused ones included: who (actor, workspace), what (action, target), how it ended
(outcome, status), from where (source) and a summary of what was sent (``detail``).

The row is written by :class:`AuditMiddleware` around every route, so a new route is audited
without doing anything; a handler adds what only it knows with :func:`note`. A request body is
never stored: ``detail`` holds the names of the fields sent and the values of an allow-list of
harmless ones (:data:`SHOWN`), because bodies carry runbook secrets, webhook secrets, passwords
and tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send
from runwright_common.logging import get_logger
from runwright_proto.limits import MAX_BODY_BYTES

from runwright_gateway import api_keys, auth, permissions

log = get_logger("runwright.gateway.audit")

NOTE_KEY = "audit_note"
CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
NOT_CHANGES = frozenset({("POST", "/api/v1/runbooks/validate")})
"""Operations that use a changing method yet change nothing: not audited."""
NAMED = {
    ("POST", "/console/session"): "signin",
    ("DELETE", "/console/session"): "signout",
    ("PATCH", "/console/session"): "workspace.switch",
    ("GET", "/console/sso/callback"): "signin",
}
"""Actions outside ``/api/v1``, where the route says nothing generic."""
READS_AUDITED = frozenset({("GET", "/console/sso/callback")})
"""Requests that use a safe method yet change something (a single sign-on's return): audited."""
VERBS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
IRREGULAR = {"people": "person", "batches": "batch", "statuses": "status"}
VERB_PARAMS = frozenset({"action"})
"""Path parameters whose value is the verb (``POST /api/v1/jobs/{job_id}/{action}``)."""

SHOWN = frozenset(
    {
        "role",
        "name",
        "email",
        "slug",
        "status",
        "reason",
        "expires_at",
        "cron",
        "timezone",
        "priority",
        "title",
        "overlap",
        "paused",
        "screenshots",
        "video",
        "run_at",
        "approval_timeout_s",
        "on_executor_loss",
        "format",
        "events",
    }
)
"""Body fields whose values may be recorded: none of them can hold a secret."""
HOST_ONLY = frozenset({"url"})
"""Body fields of which only the host is recorded (a URL may carry a token in its path)."""
MAX_TEXT = 200
MAX_FIELDS = 50
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_SEGMENT = re.compile(r"[^a-z0-9_]+")


def note(
    connection: ASGIConnection[Any, Any, Any, Any] | Request[Any, Any, Any], **fields: Any
) -> None:
    """Lets a handler add to (or override) its request's audit row: ``actor``, ``workspace``,
    ``target``, ``outcome``, ``detail`` (a dict, merged into the summary). Read when the answer
    has been sent, so a handler may call it before raising a refusal."""
    state = connection.scope.setdefault("state", {})
    noted: dict[str, Any] = state.setdefault(NOTE_KEY, {})
    detail = fields.pop("detail", None)
    noted.update(fields)
    if detail:
        noted.setdefault("detail", {}).update(detail)


def text(value: Any, limit: int = MAX_TEXT) -> str:
    """``value`` as text PostgreSQL stores: valid UTF-8, no NUL, at most ``limit`` characters."""
    raw = value if isinstance(value, str) else str(value)
    clean = raw[: limit * 2].encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")
    return clean[:limit]


def storable(value: Any, depth: int = 0) -> Any:
    """A JSON value jsonb accepts, bounded in depth and size (for what handlers note)."""
    if value is None or isinstance(value, bool | int | float):
        return value if not isinstance(value, float) or value == value else None
    if depth < 4 and isinstance(value, dict):
        items = list(value.items())[:MAX_FIELDS]
        return {text(k, 64): storable(v, depth + 1) for k, v in items}
    if depth < 4 and isinstance(value, list | tuple | set | frozenset):
        return [storable(v, depth + 1) for v in list(value)[:MAX_FIELDS]]
    return text(value)


def _shown(name: str, value: Any) -> Any:
    if name in HOST_ONLY:
        return text(urlsplit(value).hostname or "") if isinstance(value, str) else None
    if isinstance(value, list):
        return [text(v) for v in value[:MAX_FIELDS] if isinstance(v, str | int | float | bool)]
    if value is None or isinstance(value, bool | int | float):
        return value
    return text(value) if isinstance(value, str) else None


def summarize(body: bytes | None, content_type: str) -> dict[str, Any]:
    """What ``detail`` says about a body: the top-level field names and the allow-listed values.
    Never raises: a body that is not JSON, not UTF-8 or nested too deep is named as such."""
    if body is None:
        return {"body": f"not read (over {MAX_BODY_BYTES} bytes)"}
    if not body:
        return {}
    try:
        if "application/x-www-form-urlencoded" in content_type:
            form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=MAX_FIELDS)
            decoded: Any = {k: v[0] if len(v) == 1 else v for k, v in form.items()}
        else:
            decoded = msgspec.json.decode(body)
    except Exception:
        return {"body": "not JSON"}
    try:
        if not isinstance(decoded, dict):
            return {"body": f"JSON {type(decoded).__name__}"}
        names = [k for k in decoded if isinstance(k, str) and _FIELD_NAME.match(k)]
        summary: dict[str, Any] = {"fields": sorted(names)[:MAX_FIELDS]}
        if len(names) < len(decoded):
            summary["other_fields"] = len(decoded) - len(names)
        values = {name: _shown(name, decoded[name]) for name in names if name in SHOWN | HOST_ONLY}
        if values:
            summary["values"] = values
        return summary
    except Exception as exc:
        log.warning("request body not summarised for the audit", error=repr(exc))
        return {"body": "not summarised"}


def request_id(given: str | None) -> str:
    """The caller's ``X-Request-Id`` when it is short and safe to store and echo, else a new one."""
    if given is not None and _REQUEST_ID.match(given):
        return given
    return uuid.uuid4().hex


def outcome(status: int) -> str:
    if status < 400:
        return "ok"
    return "denied" if status in (401, 403, 404, 429) else "failed"


def _singular(word: str) -> str:
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def _segment(value: Any) -> str:
    return _SEGMENT.sub("_", str(value).lower())[:32].strip("_") or "unknown"


def action_of(method: str, route: str, params: dict[str, Any]) -> str:
    """``<resource>.<verb>`` from the method and the route template: ``POST /api/v1/jobs`` is
    ``job.create``, ``POST /api/v1/jobs/{job_id}/{action}`` with ``cancel`` is ``job.cancel``, a
    POST to a named step is that step (``invitation.resend``), other methods on a sub-resource
    name it (``DELETE /api/v1/me/sessions`` is ``me.session.delete``)."""
    if (method, route) in NAMED:
        return NAMED[method, route]
    parts = [p for p in route.removeprefix("/api/v1").split("/") if p]
    if not parts:
        return f"{_segment(route)}.{VERBS.get(method, method.lower())}"
    names = [_singular(_segment(p)) for p in parts if not p.startswith("{")]
    last = parts[-1]
    if last.startswith("{") and last.strip("{}") in VERB_PARAMS:
        verb = _segment(params.get(last.strip("{}"), "unknown"))
    elif method == "POST" and not last.startswith("{") and len(names) > 1:
        verb = _segment(last)
        names.pop()
    else:
        verb = VERBS.get(method, method.lower())
    return f"{'.'.join(names)}.{verb}"


def target_of(params: dict[str, Any], status: int, location: str | None) -> str | None:
    """The ids in the path, or (for a 201) the created resource's id from ``Location``."""
    ids = [text(v, 100) for k, v in params.items() if k not in VERB_PARAMS]
    if ids:
        return "/".join(ids)
    if status == 201 and location:
        return text(urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1], 100) or None
    return None


class AuditRow(msgspec.Struct, kw_only=True):
    at: datetime
    workspace: str | None
    actor: str
    action: str
    target: str | None
    outcome: str
    status: int
    source: str | None
    request_id: str
    detail: dict[str, Any]


INSERT = (
    "INSERT INTO gateway.audit (at, workspace, actor, action, target, outcome, status, source,"
    " request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
)


class AuditWriter:
    """Group commit: requests hand rows over without waiting, a background task writes whatever
    has gathered every few milliseconds in one ``executemany``. A failed write is logged and
    retried with back-off (the rows are kept, up to :attr:`capacity`); nothing ever raises into a
    request. ``stop`` flushes what is left."""

    def __init__(
        self, pool: asyncpg.Pool, *, interval_s: float = 0.005, capacity: int = 100_000
    ) -> None:
        self.pool, self.interval_s, self.capacity = pool, interval_s, capacity
        self._rows: list[AuditRow] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.dropped = 0

    def record(self, row: AuditRow) -> None:
        if len(self._rows) >= self.capacity:
            self.dropped += 1
            log.error(
                "audit buffer full: a row is dropped", dropped=self.dropped, action=row.action
            )
            return
        self._rows.append(row)
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit-writer")

    async def stop(self, timeout_s: float = 10.0) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            log.error("audit rows not written at shutdown", rows=len(self._rows))
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            if not self._rows:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                await asyncio.sleep(self.interval_s)
            batch, self._rows = self._rows[:1000], self._rows[1000:]
            if not batch:
                continue
            try:
                await self._write(batch)
                backoff = 0.1
            except Exception as exc:
                self._rows[:0] = batch
                log.warning(
                    "audit rows not written; retrying",
                    rows=len(batch),
                    error=str(exc) or type(exc).__name__,
                    retry_in_s=backoff,
                )
                if self._stopping and backoff > 2:
                    log.error("audit rows lost at shutdown", rows=len(self._rows))
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _write(self, batch: list[AuditRow]) -> None:
        await self.pool.executemany(
            INSERT,
            [
                (
                    r.at,
                    r.workspace,
                    r.actor,
                    r.action,
                    r.target,
                    r.outcome,
                    r.status,
                    r.source,
                    r.request_id,
                    r.detail,
                )
                for r in batch
            ],
        )


def audited(method: str, route: str) -> bool:
    if (method, route) in READS_AUDITED:
        return True
    if method not in CHANGES or (method, route) in NOT_CHANGES:
        return False
    return route.startswith("/api/v1/") or (method, route) in NAMED


async def _identified(scope: Scope) -> tuple[str, str | None, dict[str, Any]] | None:
    """Who sent a request the guard did not resolve to a principal (a key naming another
    workspace, a public route): (actor, workspace, detail), or None. Only the bearer is looked
    at, never through ``auth.authenticate``, which counts failed credentials against the source."""
    connection: ASGIConnection[Any, Any, Any, Any] = ASGIConnection(scope)
    given = auth.token_of(connection)
    if given is None:
        return None
    asked = connection.headers.get(auth.WORKSPACE_HEADER, "").strip()
    detail = {"workspace_asked": text(asked, 64)} if asked else {}
    try:
        if auth.admin_token_valid(connection, given):
            return "admin", None, detail
        if api_keys.looks_like_key(given):
            row = await api_keys.lookup(connection.app.state.pool, given)
            if row is not None:
                return f"key:{row['name']}", row["workspace"], detail
    except Exception as exc:
        log.warning("audit could not identify a caller", error=str(exc) or type(exc).__name__)
    return None


class _Replay:
    """The body's ASGI messages, read once here and handed to the app as if unread."""

    def __init__(self, receive: Receive) -> None:
        self.receive, self.messages = receive, list[ReceiveMessage]()

    async def read(self, declared: int | None) -> bytes | None:
        """The body, or None when it is over the limit (then only what was read is kept)."""
        if declared is not None and declared > MAX_BODY_BYTES:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            self.messages.append(message)
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def __call__(self) -> ReceiveMessage:
        if self.messages:
            return self.messages.pop(0)
        return await self.receive()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


class AuditMiddleware:
    """Sets ``X-Request-Id`` on every answer (the caller's when safe, else a new one, also shown
    to handlers) and writes one audit row for each request that changes something."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        rid = request_id(_header(scope, b"x-request-id"))
        scope["headers"] = [
            *(h for h in scope.get("headers", []) if h[0] != b"x-request-id"),
            (b"x-request-id", rid.encode()),
        ]
        method = str(scope.get("method", "GET"))
        route = permissions.template(str(scope.get("path_template", "")))
        if not audited(method, route):
            await self.app(scope, receive, _with_request_id(send, rid, {}))
            return
        at = datetime.now(UTC)
        replay = _Replay(receive)
        try:
            declared = int(_header(scope, b"content-length") or 0)
        except ValueError:
            declared = None
        body = await replay.read(declared)
        answer: dict[str, Any] = {"status": 500}
        try:
            await self.app(scope, replay, _with_request_id(send, rid, answer))
        finally:
            try:
                row = await self._row(scope, method, route, at, rid, answer, body)
                scope["app"].state.audit.record(row)
            except Exception as exc:
                log.error(
                    "audit row not recorded",
                    route=f"{method} {route}",
                    error=str(exc) or type(exc).__name__,
                )

    async def _row(
        self,
        scope: Scope,
        method: str,
        route: str,
        at: datetime,
        rid: str,
        answer: dict[str, Any],
        body: bytes | None,
    ) -> AuditRow:
        state: dict[str, Any] = scope.get("state") or {}
        noted: dict[str, Any] = state.get(NOTE_KEY) or {}
        status = int(answer["status"])
        params: dict[str, Any] = scope.get("path_params") or {}
        detail = summarize(body, _header(scope, b"content-type") or "application/json")
        detail["operation"] = f"{method} {route}"
        found = state.get("principal")
        actor, workspace = "anonymous", None
        if found is not None:
            actor, workspace = found.actor, found.workspace
        elif "actor" not in noted:
            who = await _identified(scope)
            if who is not None:
                actor, workspace, extra = who
                detail.update(extra)
        detail.update(storable(noted.get("detail") or {}))
        client = scope.get("client")
        return AuditRow(
            at=at,
            workspace=text(noted["workspace"], 64) if noted.get("workspace") else workspace,
            actor=text(noted.get("actor") or actor),
            action=text(noted.get("action") or action_of(method, route, params), 100),
            target=text(noted["target"])
            if noted.get("target")
            else target_of(params, status, answer.get("location")),
            outcome=noted["outcome"]
            if noted.get("outcome") in ("ok", "denied", "failed")
            else outcome(status),
            status=status,
            source=text(client[0], 100) if client else None,
            request_id=rid,
            detail=detail,
        )


def _with_request_id(send: Send, rid: str, answer: dict[str, Any]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != b"x-request-id"]
            headers.append((b"x-request-id", rid.encode()))
            message["headers"] = headers
            answer["status"] = message["status"]
            for key, value in headers:
                if key.lower() == b"location":
                    answer["location"] = value.decode("latin-1")
        await send(message)

    return sending
