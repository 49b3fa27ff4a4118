"""Pull consumers that keep per-key order: messages of one job run in order, jobs in parallel."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from nats.aio.msg import Msg
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from opentelemetry import context as otel_context
from runwright_common import metrics
from runwright_common.errors import PermanentError, RetryableError
from runwright_common.logging import get_logger
from runwright_common.tracing import extract_context, tracer
from runwright_proto.streams import ConsumerSpec

log = get_logger("runwright.consume")

Handler = Callable[[Any, Msg], Awaitable[None]]


async def consume_keyed(
    js: JetStreamContext,
    spec: ConsumerSpec,
    kind: Any,
    handler: Handler,
    stop: asyncio.Event,
    *,
    key: Callable[[Msg], str] = lambda m: m.subject,
    batch: int = 200,
) -> None:
    """Fetch batches; handle messages with the same key in stream order, keys concurrently.

    The handler's outcome decides the answer: return → ack; :class:`RetryableError` → nak with
    its delay; :class:`PermanentError` or undecodable data → term (logged as a dead letter).
    """
    sub = await js.pull_subscribe_bind(spec.durable, spec.stream)
    decoder = msgspec.json.Decoder(kind)
    try:
        while not stop.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                continue
            lanes: dict[str, list[Msg]] = defaultdict(list)
            for msg in msgs:
                lanes[key(msg)].append(msg)
            await asyncio.gather(
                *(_run_lane(lane, decoder, handler, spec.durable) for lane in lanes.values())
            )
    finally:
        await sub.unsubscribe()


async def _run_lane(
    lane: list[Msg], decoder: msgspec.json.Decoder[Any], handler: Handler, consumer: str
) -> None:
    for msg in lane:
        started = time.perf_counter()
        outcome = await _handle_one(msg, decoder, handler)
        metrics.bus_handled(consumer, outcome, time.perf_counter() - started)


async def _handle_one(msg: Msg, decoder: msgspec.json.Decoder[Any], handler: Handler) -> str:
    """Handle and answer one message; returns how it was answered (the metrics' outcome)."""
    token = otel_context.attach(extract_context(msg.headers))  # type: ignore[arg-type]
    try:
        with tracer("runwright.consume").start_as_current_span(f"consume {msg.subject}"):
            try:
                message = decoder.decode(msg.data)
            except msgspec.ValidationError as exc:
                log.error("dead letter: undecodable message", subject=msg.subject, error=str(exc))
                await msg.term()
                return "dead_letter"
            try:
                await handler(message, msg)
            except RetryableError as exc:
                log.warning("will retry message", subject=msg.subject, error=str(exc))
                await msg.nak(delay=exc.delay_s)
                return "retry"
            except PermanentError as exc:
                log.error("dead letter", subject=msg.subject, error=str(exc))
                await msg.term()
                return "dead_letter"
            except Exception:
                log.exception("message handler crashed; will retry", subject=msg.subject)
                await msg.nak(delay=2.0)
                return "crashed"
            await msg.ack()
            return "ack"
    finally:
        otel_context.detach(token)
