"""A page that cannot be reached keeps its error class but gets a hint naming the cause: each cause
provoked on loopback (closed port, unsafe port, unresolvable host, TLS errors, a reset, a block)."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from playwright.async_api import Browser, BrowserContext
from runwright_engine.errors import HINTS
from runwright_engine.network import network_hint
from support.engine import Run, run_steps

pytestmark = pytest.mark.asyncio(loop_scope="module")


def closed_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a certificate no authority signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "cert.pem", directory / "key.pem")
    return context


async def _reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Read the request, then close with a TCP reset (linger 0)."""
    await reader.read(1024)
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(1024)
    writer.close()


@asynccontextmanager
async def tcp_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    server = await asyncio.start_server(_hold if tls else _reset, "127.0.0.1", 0, ssl=tls)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def navigate(browser: Browser, start: str, url: str, tmp: Path, **options: Any) -> Run:
    step = {"action": {"type": "navigate", "url": url}}
    return await run_steps(browser, start, [step], tmp, timeout_ms=3000, **options)


def assert_hint(run: Run, code: str, cause: str) -> None:
    error = run.step(0).error
    assert error is not None
    assert error.kind == "Navigation timeout", error.message
    assert f"net::{code}" in error.message
    assert error.diagnostics["network_error"] == code
    assert cause in error.hint
    assert "wait" not in error.hint.lower()
    assert error.hint != HINTS["Navigation timeout"]


async def test_a_closed_port_is_a_refused_connection(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    run = await navigate(browser, f"{fixture_url}/static", url, tmp_path)
    assert_hint(run, "ERR_CONNECTION_REFUSED", "Nothing accepted the connection")


async def test_an_unsafe_port_is_named_as_one_chromium_refuses(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    run = await navigate(browser, f"{fixture_url}/static", "http://127.0.0.1:6000/", tmp_path)
    assert_hint(run, "ERR_UNSAFE_PORT", "Chromium never connects to this port")


async def test_an_unresolvable_host_is_named_as_a_name_that_did_not_resolve(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    run = await navigate(browser, f"{fixture_url}/static", "http://runwright.invalid/", tmp_path)
    assert_hint(run, "ERR_NAME_NOT_RESOLVED", "host name could not be resolved")


async def test_https_to_a_plain_http_port_is_a_tls_handshake_failure(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    url = fixture_url.replace("http://", "https://") + "/static"
    run = await navigate(browser, f"{fixture_url}/static", url, tmp_path)
    assert_hint(run, "ERR_SSL_PROTOCOL_ERROR", "may not speak HTTPS on this port")


async def test_a_self_signed_certificate_is_a_certificate_error(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    async with tcp_server(self_signed(tmp_path)) as port:
        run = await navigate(
            browser, f"{fixture_url}/static", f"https://127.0.0.1:{port}/", tmp_path
        )
    error = run.step(0).error
    assert error is not None
    assert error.diagnostics["network_error"].startswith("ERR_CERT_")
    assert "TLS certificate was not accepted" in error.hint


async def test_a_connection_reset_by_the_server_is_named(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    async with tcp_server() as port:
        run = await navigate(
            browser, f"{fixture_url}/static", f"http://127.0.0.1:{port}/", tmp_path
        )
    error = run.step(0).error
    assert error is not None
    assert error.diagnostics["network_error"] in ("ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE")
    assert "The server dropped the connection" in error.hint


async def test_a_request_blocked_by_the_browser_is_named_as_a_policy_block(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    async def block(context: BrowserContext) -> None:
        await context.route("**/navigate-target*", lambda route: route.abort("blockedbyclient"))

    run = await navigate(
        browser, f"{fixture_url}/static", "/navigate-target", tmp_path, prepare=block
    )
    assert_hint(run, "ERR_BLOCKED_BY_CLIENT", "blocked by a policy")


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("ERR_BLOCKED_BY_ADMINISTRATOR", "blocked by a policy"),
        ("ERR_ADDRESS_UNREACHABLE", "no route to that address"),
        ("ERR_INTERNET_DISCONNECTED", "no route to that address"),
        ("ERR_TIMED_OUT", "got no answer"),
        ("ERR_CERT_DATE_INVALID", "TLS certificate"),
    ],
)
async def test_causes_that_loopback_cannot_provoke_are_named_from_chromiums_text(
    code: str, cause: str
) -> None:
    hint = network_hint(f"Page.goto: net::{code} at https://example.invalid/")
    assert hint is not None
    assert cause in hint


async def test_a_failure_that_is_not_a_network_error_has_no_network_hint() -> None:
    assert network_hint("Page.goto: Timeout 3000ms exceeded.") is None
    assert network_hint("Page.goto: net::ERR_SOMETHING_NEW at http://x/") is None
