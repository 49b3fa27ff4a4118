"""The egress policy in real Chromium: every way a runbook might reach a local file or a loopback
service is blocked and named in the failing step's error; allowed destinations still work.

Two loopback sites stand in for the world: ``allowed`` (its port is on the allow-list) and
``denied`` (nothing allows it, like the gateway or a database next to the executor).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser
from runwright_engine.egress.addresses import Address
from runwright_engine.egress.contexts import guarded_context
from runwright_engine.egress.policy import EgressPolicy
from runwright_engine.egress.proxy import EgressProxy, resolve
from runwright_engine.engine import Engine, RunOutcome
from runwright_runbook import parse_runbook
from support.runbooks import runbook
from support.threaded_server import serving
from websockets.asyncio.server import ServerConnection, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")
PAGE = b"<html><head><title>%s</title></head><body><h1 id='who'>%s</h1></body></html>"


def site(name: str) -> Any:
    """A tiny ASGI site: ``/`` names the site, ``/redirect?to=URL`` redirects."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        query = scope["query_string"].decode()
        if scope["path"] == "/redirect":
            where = query.removeprefix("to=")
            await send(
                {
                    "type": "http.response.start",
                    "status": 302,
                    "headers": [(b"location", where.encode())],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html")],
            }
        )
        await send({"type": "http.response.body", "body": PAGE % (name.encode(), name.encode())})

    return app


@pytest.fixture(scope="module")
def sites() -> Iterator[dict[str, str]]:
    with (
        serving(site("allowed"), "allowed") as allowed,
        serving(site("denied"), "denied") as denied,
    ):
        yield {"allowed": allowed, "denied": denied}


def port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


FAKE_DNS = {"rebound.example": "127.0.0.1", "public.example": "93.184.216.34"}


async def fake_dns(host: str, port_: int) -> list[Address]:
    """Names that resolve to loopback (a third party's DNS answer, faked); the rest as usual."""
    from ipaddress import ip_address

    if host in FAKE_DNS:
        return [ip_address(FAKE_DNS[host])]
    return await resolve(host, port_)


@pytest_asyncio.fixture(loop_scope="module")
async def proxy(sites: dict[str, str]) -> AsyncIterator[EgressProxy]:
    policy = EgressPolicy.parse(f"127.0.0.1:{port(sites['allowed'])}")
    egress = await EgressProxy(policy, resolver=fake_dns).start()
    yield egress
    await egress.close()


async def run(
    browser: Browser, egress: EgressProxy, start: str, steps: list[dict[str, Any]], tmp: Path
) -> RunOutcome:
    document = runbook(steps, start_url=start, timeout_ms=8000)
    async with guarded_context(browser, egress, "job-egress") as (context, violations):
        engine = Engine(context, parse_runbook(document), files_dir=tmp, env={}, egress=violations)
        return await engine.run()


def extract(script: str) -> dict[str, Any]:
    return {
        "action": {"type": "extract", "script": script},
        "captures": [{"name": "got", "strategy": "expression", "expression": "{{__extracted}}"}],
    }


def websocket_message(url: str) -> str:
    """A script that opens a WebSocket to ``url`` and returns its first message, or 'error'."""
    return (
        f"() => new Promise(done => {{ const ws = new WebSocket({json.dumps(url)});"
        " ws.onmessage = m => done(m.data); ws.onerror = () => done('error'); })"
    )


def page_fetch(url: str) -> str:
    return (
        f"async () => {{ try {{ return await (await fetch({json.dumps(url)})).text(); }}"
        " catch (e) { return 'failed'; } }"
    )


def worker_fetch(url: str) -> str:
    """A script whose dedicated worker fetches ``url`` and posts back what it got."""
    code = (
        f"fetch({json.dumps(url)}).then(r => r.text())"
        ".then(t => postMessage(t), () => postMessage('failed'))"
    )
    return (
        "() => new Promise(done => { const w = new Worker(URL.createObjectURL("
        f"new Blob([{json.dumps(code)}], {{type: 'text/javascript'}})));"
        " w.onmessage = m => done(m.data); })"
    )


def navigate(url: str) -> dict[str, Any]:
    return {"action": {"type": "navigate", "url": url}}


def read_page() -> dict[str, Any]:
    return extract("document.body.innerText")


def blocked(outcome: RunOutcome, ordinal: int, *names: str) -> str:
    step = outcome.results[ordinal]
    assert step.status == "failed", (step.status, step.captured)
    assert step.error is not None
    assert step.error.kind == "Egress blocked", step.error
    assert "egress policy" in step.error.message
    for name in names:
        assert name in step.error.message, step.error.message
    assert "RUNWRIGHT_EGRESS_ALLOW" in (step.error.hint or "")
    assert not any("denied" in str(v) for v in step.captured.values())
    return step.error.message


async def test_an_allowed_site_works_and_its_page_is_read(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    outcome = await run(browser, proxy, sites["allowed"] + "/", [read_page()], tmp_path)
    assert outcome.status == "completed", outcome.results[0].error
    assert outcome.results[0].captured["got"] == "allowed"


async def test_an_allowed_websocket_works_through_the_proxy(
    browser: Browser, sites: dict[str, str], tmp_path: Path
) -> None:
    async def hello(connection: ServerConnection) -> None:
        await connection.send("hello through the proxy")

    async with serve(hello, "127.0.0.1", 0) as server:
        ws_port = server.sockets[0].getsockname()[1]
        policy = EgressPolicy.parse(f"127.0.0.1:{port(sites['allowed'])} 127.0.0.1:{ws_port}")
        egress = await EgressProxy(policy).start()
        script = websocket_message(f"ws://127.0.0.1:{ws_port}/")
        try:
            outcome = await run(
                browser, egress, sites["allowed"] + "/", [extract(script)], tmp_path
            )
        finally:
            await egress.close()
    assert outcome.status == "completed", outcome.results[0].error
    assert outcome.results[0].captured["got"] == "hello through the proxy"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("view-source:http://example.com/", "view-source:"),
        ("chrome://version", "chrome://version"),
        ("data:text/html,<h1>denied</h1>", "data:"),
    ],
)
async def test_a_non_web_url_is_refused_before_the_browser_goes(
    browser: Browser,
    proxy: EgressProxy,
    sites: dict[str, str],
    tmp_path: Path,
    url: str,
    named: str,
) -> None:
    outcome = await run(
        browser, proxy, sites["allowed"] + "/", [navigate(url), read_page()], tmp_path
    )
    message = blocked(outcome, 0, named)
    assert "not an http(s) URL" in message
    assert outcome.results[1].status == "skipped"


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("localhost", "localhost:{port} (resolved to 127.0.0.1)"),
        ("127.0.0.1", "127.0.0.1:{port}"),
        ("[::1]", "[::1]:{port}"),
        ("2130706433", "127.0.0.1:{port}"),
        ("0x7f000001", "127.0.0.1:{port}"),
        ("0177.0.0.1", "127.0.0.1:{port}"),
        ("127.1", "127.0.0.1:{port}"),
        ("[::ffff:127.0.0.1]", ":{port}"),
        ("rebound.example", "rebound.example:{port} (resolved to 127.0.0.1)"),
    ],
)
async def test_every_form_of_a_loopback_address_is_blocked_and_named(
    browser: Browser,
    proxy: EgressProxy,
    sites: dict[str, str],
    tmp_path: Path,
    host: str,
    shown: str,
) -> None:
    denied = port(sites["denied"])
    outcome = await run(
        browser,
        proxy,
        sites["allowed"] + "/",
        [navigate(f"http://{host}:{denied}/"), read_page()],
        tmp_path,
    )
    message = blocked(outcome, 0, shown.format(port=denied))
    assert "loopback" in message


async def test_a_denied_start_url_fails_the_first_step(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    outcome = await run(browser, proxy, sites["denied"] + "/", [read_page()], tmp_path)
    blocked(outcome, 0, f"127.0.0.1:{port(sites['denied'])}")


async def test_a_redirect_from_an_allowed_site_to_a_denied_one_is_blocked(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    hop = f"{sites['allowed']}/redirect?to={sites['denied']}/"
    outcome = await run(
        browser, proxy, sites["allowed"] + "/", [navigate(hop), read_page()], tmp_path
    )
    blocked(outcome, 0, f"127.0.0.1:{port(sites['denied'])}")


async def test_a_fetch_from_an_allowed_page_to_a_denied_address_fails_its_step(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    script = page_fetch(sites["denied"] + "/")
    outcome = await run(browser, proxy, sites["allowed"] + "/", [extract(script)], tmp_path)
    blocked(outcome, 0, f"127.0.0.1:{port(sites['denied'])}")


async def test_a_websocket_from_an_allowed_page_to_a_denied_address_fails_its_step(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    ws = sites["denied"].replace("http://", "ws://") + "/ws"
    script = websocket_message(ws)
    outcome = await run(browser, proxy, sites["allowed"] + "/", [extract(script)], tmp_path)
    blocked(outcome, 0, f"127.0.0.1:{port(sites['denied'])}")


async def test_a_worker_cannot_reach_a_denied_address(
    browser: Browser, proxy: EgressProxy, sites: dict[str, str], tmp_path: Path
) -> None:
    script = worker_fetch(sites["denied"] + "/")
    outcome = await run(browser, proxy, sites["allowed"] + "/", [extract(script)], tmp_path)
    blocked(outcome, 0, f"127.0.0.1:{port(sites['denied'])}")


async def test_the_proxy_is_no_open_relay(proxy: EgressProxy, sites: dict[str, str]) -> None:
    """Another local process that finds the proxy's port gets 407, not a way around the policy."""
    import asyncio

    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    target = sites["allowed"].removeprefix("http://")
    writer.write(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    await writer.drain()
    answer = await reader.readuntil(b"\r\n")
    writer.close()
    assert answer.startswith(b"HTTP/1.1 407"), answer
