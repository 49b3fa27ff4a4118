"""Pull consumers that keep per-key order: messages of one job run in order, jobs in parallel."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import structlog
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.errors import ServiceUnavailableError
from opentelemetry import context as otel_context
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind
from runwright_common import metrics
from runwright_common.errors import PermanentError, RetryableError
from runwright_common.logging import get_logger
from runwright_common.tracing import JOB_KEYS, extract_context, job_baggage, tracer
from runwright_proto.streams import ConsumerSpec

log = get_logger("runwright.consume")

Handler = Callable[[Any, Msg], Awaitable[None]]
Relevant = Callable[[Any], bool]
OUTAGE_PAUSE_S = (0.1, 0.25, 0.5, 1.0, 2.0)
"""Pauses between fetches while JetStream does not answer (the last one repeats)."""


class Fetcher:
    """Batches from a pull subscription that outlast a JetStream outage: a node of the cluster
    dying, the consumer's leader moving, a nats-server restarting. A fetch that finds no one to
    answer (503, no responders) is tried again after a pause, with a warning, instead of ending
    the loop that consumes (which would leave the service up and its work undone)."""

    def __init__(self, sub: JetStreamContext.PullSubscription, consumer: str) -> None:
        self.sub = sub
        self.consumer = consumer
        self.failures = 0

    async def fetch(self, batch: int, timeout: float = 1.0) -> list[Msg]:
        try:
            msgs = await self.sub.fetch(batch, timeout=timeout)
        except (NatsTimeout, TimeoutError):
            self.failures = 0
            return []
        except (ServiceUnavailableError, NoRespondersError) as exc:
            pause = OUTAGE_PAUSE_S[min(self.failures, len(OUTAGE_PAUSE_S) - 1)]
            self.failures += 1
            log.warning(
                "jetstream did not answer a fetch; trying again",
                consumer=self.consumer,
                error=str(exc) or type(exc).__name__,
                failures=self.failures,
            )
            await asyncio.sleep(pause)
            return []
        self.failures = 0
        return msgs


async def consume_keyed(
    js: JetStreamContext,
    spec: ConsumerSpec,
    kind: Any,
    handler: Handler,
    stop: asyncio.Event,
    *,
    key: Callable[[Msg], str] = lambda m: m.subject,
    batch: int = 200,
    relevant: Relevant | None = None,
    span: bool = True,
) -> None:
    """Fetch batches; handle messages with the same key in stream order, keys concurrently.

    The handler's outcome decides the answer: return → ack; :class:`RetryableError` → nak with
    its delay; :class:`PermanentError` or undecodable data → term (logged as a dead letter).
    A message ``relevant`` says the handler has nothing to do with is acked at once, without a
    span: a consumer that reads every job event to act on a few (the audit's, the webhooks')
    would otherwise add a span saying nothing to the job's trace for each of the others.
    With ``span=False`` the handler runs in the message's trace context without a span of its
    own, and opens one where it does something (the webhooks' consumer: only for an event a
    webhook is subscribed to, which it cannot tell before asking its table).
    """
    sub = await js.pull_subscribe_bind(spec.durable, spec.stream)
    fetcher = Fetcher(sub, spec.durable)
    decoder = msgspec.json.Decoder(kind)
    try:
        while not stop.is_set():
            msgs = await fetcher.fetch(batch)
            if not msgs:
                continue
            lanes: dict[str, list[Msg]] = defaultdict(list)
            for msg in msgs:
                lanes[key(msg)].append(msg)
            await asyncio.gather(
                *(
                    _run_lane(lane, decoder, handler, spec.durable, relevant, span)
                    for lane in lanes.values()
                )
            )
    finally:
        await sub.unsubscribe()


async def _run_lane(
    lane: list[Msg],
    decoder: msgspec.json.Decoder[Any],
    handler: Handler,
    consumer: str,
    relevant: Relevant | None,
    span: bool,
) -> None:
    for msg in lane:
        started = time.perf_counter()
        outcome = await _handle_one(msg, decoder, handler, consumer, relevant, span)
        metrics.bus_handled(consumer, outcome, time.perf_counter() - started)


def job_fields(context: Context, message: Any = None) -> dict[str, str | int]:
    """Which job a message is about, for every log line written while it is handled: the ids
    its trace context carries in baggage, and the message's own ``job_id``, ``attempt`` and
    ``workspace`` fields where it has them (they win)."""
    fields: dict[str, str | int] = dict(job_baggage(context))
    for key in JOB_KEYS:
        value = getattr(message, key, None)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            fields[key] = value
    return fields


async def _handle_one(
    msg: Msg,
    decoder: msgspec.json.Decoder[Any],
    handler: Handler,
    consumer: str,
    relevant: Relevant | None = None,
    span: bool = True,
) -> str:
    """Handle and answer one message; returns how it was answered (the metrics' outcome). The
    span is named by the consumer, not the subject (which may name a job): span names stay few."""
    message: Any = None
    undecodable: msgspec.ValidationError | None = None
    try:
        message = decoder.decode(msg.data)
    except msgspec.ValidationError as exc:
        undecodable = exc
    else:
        if relevant is not None and not relevant(message):
            await msg.ack()
            return "ack"
    context = extract_context(msg.headers)
    token = otel_context.attach(context)
    try:
        with (
            tracer("runwright.consume").start_as_current_span(
                f"consume {consumer}",
                kind=SpanKind.CONSUMER,
                attributes={"messaging.destination.name": msg.subject},
            )
            if span
            else contextlib.nullcontext(),
            structlog.contextvars.bound_contextvars(**job_fields(context, message)),
        ):
            if undecodable is not None:
                log.error(
                    "dead letter: undecodable message", subject=msg.subject, error=str(undecodable)
                )
                await msg.term()
                return "dead_letter"
            return await _apply(message, msg, handler)
    finally:
        otel_context.detach(token)


async def _apply(message: Any, msg: Msg, handler: Handler) -> str:
    """Run the handler; its outcome decides the answer to the broker (returned, for the
    metrics)."""
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
