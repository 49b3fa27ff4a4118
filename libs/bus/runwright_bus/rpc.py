"""Request/reply between services with typed messages and errors that cross the wire."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import msgspec
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import context as otel_context
from runwright_common.errors import PermanentError, RetryableError, ServiceUnavailable
from runwright_common.logging import get_logger
from runwright_common.tracing import extract_context, tracer
from runwright_proto.commands import ErrorReply

from runwright_bus.messages import decode, encode, headers

T = TypeVar("T")
log = get_logger("runwright.rpc")


class RemoteError(PermanentError):
    """The service answered with an error that retrying will not fix."""


async def request(
    nc: Client,
    subject: str,
    message: Any,
    reply: type[T] | Any,
    *,
    timeout: float = 5.0,
) -> T:
    try:
        response = await nc.request(subject, encode(message), timeout=timeout, headers=headers())
    except NoRespondersError as exc:
        raise ServiceUnavailable(f"no service answers {subject}") from exc
    except NatsTimeout as exc:
        raise ServiceUnavailable(f"{subject} did not answer within {timeout:g}s") from exc
    answer = decode(response.data, reply | ErrorReply)
    if isinstance(answer, ErrorReply):
        if answer.retryable:
            raise RetryableError(answer.error)
        raise RemoteError(answer.error)
    result: T = answer
    return result


async def serve(
    nc: Client,
    subject: str,
    kind: Any,
    handler: Callable[[Any], Awaitable[Any]],
    *,
    queue: str = "runwright",
    concurrency: int = 64,
) -> Subscription:
    """Answer requests on ``subject``, each in its own task, ``concurrency`` at most at once."""
    limit = asyncio.Semaphore(concurrency)
    tasks: set[asyncio.Task[None]] = set()
    span_name = f"serve {subject}"

    async def handle(msg: Msg) -> None:
        started = time.perf_counter()
        token = otel_context.attach(extract_context(msg.headers))
        outcome = "ok"
        try:
            with tracer("runwright.rpc").start_as_current_span(span_name):
                try:
                    command = decode(msg.data, kind)
                    answer = await handler(command)
                except msgspec.ValidationError as exc:
                    outcome, answer = "invalid", ErrorReply(error=f"invalid request: {exc}")
                except RetryableError as exc:
                    outcome, answer = "retryable", ErrorReply(error=str(exc), retryable=True)
                except PermanentError as exc:
                    outcome, answer = "error", ErrorReply(error=str(exc))
                except Exception as exc:
                    log.exception("request handler failed", subject=subject)
                    outcome = "crashed"
                    answer = ErrorReply(
                        error=f"internal error: {type(exc).__name__}", retryable=True
                    )
                if msg.reply:
                    await msg.respond(encode(answer))
        finally:
            otel_context.detach(token)
            log.debug(
                "handled request",
                subject=subject,
                outcome=outcome,
                ms=round((time.perf_counter() - started) * 1000, 2),
            )

    async def on_message(msg: Msg) -> None:
        await limit.acquire()

        async def run() -> None:
            try:
                with structlog.contextvars.bound_contextvars(subject=subject):
                    await handle(msg)
            finally:
                limit.release()

        task = asyncio.create_task(run())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return await nc.subscribe(subject, queue=queue, cb=on_message)
