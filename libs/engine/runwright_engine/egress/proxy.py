"""The filtering forward proxy a job's browser context connects through.

HTTP CONNECT (https, wss) and absolute-URI plain HTTP (http, ws upgrades), on 127.0.0.1 on an
ephemeral port. For each connection the proxy resolves the host itself, checks every address
against the :class:`EgressPolicy`, connects to the address it checked (so a DNS answer that
changes afterwards cannot swap it) and pipes bytes. A denied connection gets ``403`` and is
reported to the context that made it; a request without a context's credentials gets ``407``, so
no other local process can use the proxy as an open relay.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import ip_address
from urllib.parse import urlsplit

from playwright.async_api import ProxySettings
from runwright_common import metrics
from runwright_common.logging import get_logger, logged_failure

from runwright_engine.egress.addresses import Address
from runwright_engine.egress.policy import EgressPolicy, Verdict, canonical_host, is_ip

log = get_logger("runwright.egress")
Resolver = Callable[[str, int], Awaitable[list[Address]]]
HEAD_LIMIT = 64 * 1024
CHUNK = 256 * 1024


class ProxyRefusal(Exception):
    def __init__(self, status: str, body: str, extra: str = "") -> None:
        super().__init__(body)
        self.status, self.body, self.extra = status, body, extra


@dataclass
class ContextEgress:
    """One browser context's identity at the proxy, and where its blocks are reported."""

    job_id: str
    on_block: Callable[[Verdict], None]
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    blocked: int = 0
    workspace: str = ""
    """The job's workspace, for the egress metrics (never the job id: unbounded)."""

    def proxy_settings(self, server: str) -> ProxySettings:
        """The ``proxy`` argument of ``browser.new_context`` for this context."""
        return {"server": server, "username": self.token, "password": self.password}


async def resolve(host: str, port: int) -> list[Address]:
    """The host's addresses, as the system resolver answers now."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(ip_address(info[4][0]) for info in infos))


class EgressProxy:
    def __init__(self, policy: EgressPolicy, resolver: Resolver = resolve) -> None:
        self.policy, self.resolver = policy, resolver
        self.contexts: dict[str, ContextEgress] = {}
        self.blocked = 0
        """Connections denied since start-up, for every context (the executor reports it)."""
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def server(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> EgressProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=HEAD_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with logged_failure(log, "egress proxy did not close in time"):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def register(self, job_id: str, on_block: Callable[[Verdict], None]) -> ContextEgress:
        context = ContextEgress(job_id, on_block)
        self.contexts[context.token] = context
        return context

    def unregister(self, context: ContextEgress) -> None:
        self.contexts.pop(context.token, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            upstream_reader, upstream = await self._open(head, writer)
            await _pipe_both(reader, writer, upstream_reader, upstream)
        except ProxyRefusal as refusal:
            await _refuse(writer, refusal)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            for w in (writer, upstream):
                if w is not None:
                    w.close()

    async def _open(
        self, head: bytes, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Check the request in ``head``; connect upstream and send what the origin must see."""
        request_line, _, rest = head.partition(b"\r\n")
        method, target, version = _request_line(request_line)
        context = self._authenticate(rest)
        tunnel = method == "CONNECT"
        host, port, origin_form = _target(target, tunnel)
        verdict = await self._decide(context, host, port)
        try:
            upstream = await asyncio.open_connection(str(verdict.address), port, limit=HEAD_LIMIT)
        except OSError as exc:
            raise ProxyRefusal("502 Bad Gateway", f"could not connect to {host}:{port}") from exc
        if tunnel:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            upstream[1].write(_origin_head(method, origin_form, version, rest))
        return upstream

    def _authenticate(self, headers: bytes) -> ContextEgress:
        for line in headers.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"proxy-authorization":
                continue
            scheme, _, encoded = value.strip().partition(b" ")
            if scheme.lower() != b"basic":
                break
            with contextlib.suppress(ValueError):
                token, _, password = base64.b64decode(encoded).decode().partition(":")
                context = self.contexts.get(token)
                if context is not None and secrets.compare_digest(context.password, password):
                    return context
            break
        raise ProxyRefusal(
            "407 Proxy Authentication Required",
            "this proxy serves Runwright's browser contexts only",
            'Proxy-Authenticate: Basic realm="runwright-egress"\r\n',
        )

    async def _decide(self, context: ContextEgress, host: str, port: int) -> Verdict:
        try:
            addresses = [ip_address(host)] if is_ip(host) else await self.resolver(host, port)
        except (OSError, ValueError) as exc:
            raise ProxyRefusal("502 Bad Gateway", f"could not resolve {host}") from exc
        if not addresses:
            raise ProxyRefusal("502 Bad Gateway", f"could not resolve {host}")
        verdict = self.policy.check(host, port, addresses)
        if not verdict.allowed:
            self.blocked += 1
            context.blocked += 1
            metrics.egress_blocked(context.workspace)
            log.warning(
                "egress blocked",
                job_id=context.job_id,
                destination=f"{verdict.host}:{port}",
                address=str(verdict.address),
                reason=verdict.reason,
            )
            context.on_block(verdict)
            raise ProxyRefusal("403 Forbidden", verdict.message)
        return verdict


def _request_line(line: bytes) -> tuple[str, str, str]:
    parts = line.decode("latin-1").split(" ")
    if len(parts) != 3:
        raise ProxyRefusal("400 Bad Request", "malformed request line")
    return parts[0], parts[1], parts[2]


def _target(target: str, tunnel: bool) -> tuple[str, int, str]:
    """Host, port and the origin-form path (plain HTTP) of the request target."""
    if tunnel:
        parts = urlsplit(f"//{target}")
        default, path = 443, ""
    else:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "ws"):
            raise ProxyRefusal("400 Bad Request", "only http:// targets or CONNECT")
        default = 80
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        port = parts.port or default
    except ValueError as exc:
        raise ProxyRefusal("400 Bad Request", "bad port") from exc
    if not parts.hostname:
        raise ProxyRefusal("400 Bad Request", "no host in the request")
    return canonical_host(parts.hostname), port, path


def _origin_head(method: str, path: str, version: str, headers: bytes) -> bytes:
    """The request as the origin sees it: origin-form, without proxy headers, one request per
    connection unless it upgrades (a WebSocket)."""
    kept = []
    upgrade = False
    for line in headers.split(b"\r\n"):
        name = line.partition(b":")[0].strip().lower()
        if name in (b"proxy-authorization", b"proxy-connection", b"keep-alive"):
            continue
        if name == b"connection":
            upgrade = b"upgrade" in line.lower()
            continue
        kept.append(line)
    connection = b"Connection: Upgrade" if upgrade else b"Connection: close"
    while kept and not kept[-1]:
        kept.pop()
    first = f"{method} {path} {version}".encode("latin-1")
    return b"\r\n".join([first, *kept, connection]) + b"\r\n\r\n"


async def _refuse(writer: asyncio.StreamWriter, refusal: ProxyRefusal) -> None:
    body = (refusal.body + "\n").encode()
    writer.write(
        f"HTTP/1.1 {refusal.status}\r\n{refusal.extra}Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until either side is done (then both connections are closed)."""
    pipes = {
        asyncio.ensure_future(_pipe(reader, upstream)),
        asyncio.ensure_future(_pipe(upstream_reader, writer)),
    }
    _, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await source.read(CHUNK):
            sink.write(chunk)
            await sink.drain()
