"""The floor under tracing's cost: two spans and their context, in the barest service that has them.

A submission to Runwright is traced by two spans on its path: the gateway's server span and the
queue's ``serve`` span, joined by the W3C context in the request's NATS headers. Here the same two
spans are made by the SDK's own calls (``start_as_current_span``, ``propagate``) in two processes
that do nothing else: a Litestar app on uvicorn and uvloop, as the gateway runs, whose one route
sends the body as a NATS request, and a responder that answers it at once. Exported the same way
(``runwright_common.tracing.configure_tracing``: OTLP/HTTP, the SDK's default batching).

What tracing adds here, in milliseconds, is what the SDK costs on this machine before any of
Runwright's own code: the instrumentation benchmark prints it beside what tracing adds to a real
submission.

``python -m tests.bench.span_floor http PORT NATS_URL SUBJECT`` and ``… answer NATS_URL SUBJECT``;
tracing is on or off by the standard ``OTEL_*`` variables, as for the services. Each pair has a
subject of its own: on a shared one every responder would answer every request.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any


async def _http(port: int, nats_url: str, subject: str) -> None:
    import nats
    import uvicorn
    from litestar import Litestar, Request, post
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind
    from runwright_common.tracing import configure_tracing, tracer

    configure_tracing("floor-http")
    nc = await nats.connect(nats_url)
    spans = tracer("floor.http")

    @post("/submit", status_code=201)
    async def submit(request: Request[Any, Any, Any]) -> bytes:
        body = await request.body()
        with spans.start_as_current_span(
            "POST /submit",
            context=propagate.extract(dict(request.headers)),
            kind=SpanKind.SERVER,
            attributes={"http.method": "POST", "http.route": "/submit"},
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            reply = await nc.request(subject, body, timeout=5, headers=carrier)
            return bytes(reply.data)

    config = uvicorn.Config(
        Litestar([submit]),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        loop="none",
    )
    await uvicorn.Server(config).serve()


async def _answer(nats_url: str, subject: str) -> None:
    import nats
    from nats.aio.msg import Msg
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind
    from runwright_common.tracing import configure_tracing, tracer

    configure_tracing("floor-answer")
    nc = await nats.connect(nats_url)
    spans = tracer("floor.answer")

    async def answer(msg: Msg) -> None:
        context = propagate.extract(dict(msg.headers or {}))
        with spans.start_as_current_span(f"serve {subject}", context=context, kind=SpanKind.SERVER):
            await msg.respond(msg.data)

    await nc.subscribe(subject, cb=answer)
    await asyncio.Event().wait()


def main(argv: list[str]) -> None:
    import uvloop

    if argv[0] == "http":
        uvloop.run(_http(int(argv[1]), argv[2], argv[3]))
    elif argv[0] == "answer":
        uvloop.run(_answer(argv[1], argv[2]))
    else:
        raise SystemExit(f"unknown role {argv[0]!r}: http or answer")


if __name__ == "__main__":
    main(sys.argv[1:])
