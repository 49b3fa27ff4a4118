"""Create or update the streams and consumers declared in ``runwright_proto.streams``.

How many copies of each stream a JetStream cluster keeps is the installation's choice:
``RUNWRIGHT_STREAM_REPLICAS`` (default 1) for every stream, ``RUNWRIGHT_STREAM_REPLICAS_BY_STREAM``
(a JSON object, e.g. ``{"EVENTS": 1}``) for a stream of its own. Consumers follow their stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import TypeVar

import msgspec
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, NotFoundError
from runwright_common.errors import SettingsError
from runwright_common.logging import get_logger
from runwright_common.settings import env_name, load
from runwright_proto.streams import ALL_STREAMS, ConsumerSpec, StreamSpec

log = get_logger("runwright.topology")

T = TypeVar("T")
SETTLE_S = 60.0
"""How long a JetStream request is tried again while the system is busy or choosing a leader."""
INSUFFICIENT_RESOURCES = 10023


class Replicas(msgspec.Struct, frozen=True, kw_only=True):
    """How many copies of each stream JetStream keeps (settings, read from the environment)."""

    stream_replicas: int = 1
    stream_replicas_by_stream: dict[str, int] = {}

    def of(self, stream: str) -> int:
        return self.stream_replicas_by_stream.get(stream, self.stream_replicas)

    def check(self, known: Iterable[str]) -> None:
        names = set(known)
        for stream, count in [("", self.stream_replicas), *self.stream_replicas_by_stream.items()]:
            field = "stream_replicas_by_stream" if stream else "stream_replicas"
            if stream and stream not in names:
                raise SettingsError(
                    f"{env_name(field)}: no stream {stream!r} (streams: {', '.join(sorted(names))})"
                )
            if not 1 <= count <= 5:
                raise SettingsError(f"{env_name(field)}: replicas must be 1 to 5, not {count}")


def stream_config(spec: StreamSpec, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=(
            RetentionPolicy.WORK_QUEUE if spec.retention == "workqueue" else RetentionPolicy.LIMITS
        ),
        max_age=spec.max_age_s or None,
        duplicate_window=spec.duplicate_window_s,
        storage=StorageType.FILE,
        num_replicas=replicas,
    )


def consumer_config(spec: ConsumerSpec) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=spec.durable,
        description=spec.description,
        filter_subject=spec.filter_subject,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=spec.ack_wait_s,
        max_deliver=spec.max_deliver,
        backoff=list(spec.backoff_s) or None,
        max_ack_pending=spec.max_ack_pending,
    )


def _passing(exc: Exception) -> bool:
    """A refusal that passes: no answer in time, or JetStream "temporarily unavailable" (a
    cluster electing a leader, a node that just came back); not "too few servers"."""
    if isinstance(exc, NatsTimeout | TimeoutError):
        return True
    return isinstance(exc, APIError) and exc.code == 503 and exc.err_code != INSUFFICIENT_RESOURCES


async def settled(call: Callable[[], Awaitable[T]], within_s: float = SETTLE_S) -> T:
    """``call()``, tried again while JetStream is busy or between leaders (every replica of
    every service declares the topology at once on a cluster's first start)."""
    deadline = asyncio.get_running_loop().time() + within_s
    delay = 0.1
    while True:
        try:
            return await call()
        except (APIError, NatsTimeout, TimeoutError) as exc:
            if not _passing(exc) or asyncio.get_running_loop().time() > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


async def _declare_stream(js: JetStreamContext, config: StreamConfig) -> None:
    assert config.name is not None
    try:
        await js.stream_info(config.name)
        await js.update_stream(config)
    except NotFoundError:
        await js.add_stream(config)


async def ensure_topology(
    js: JetStreamContext,
    streams: Iterable[StreamSpec],
    consumers: Iterable[ConsumerSpec] = (),
    replicas: Replicas | None = None,
) -> None:
    """Idempotent: safe for every replica of every service to call at start-up. ``replicas``:
    read from the environment when not given."""
    streams = list(streams)
    replicas = replicas if replicas is not None else load(Replicas)
    replicas.check([s.name for s in ALL_STREAMS] + [spec.name for spec in streams])
    for spec in streams:
        config = stream_config(spec, replicas.of(spec.name))
        try:
            await settled(partial(_declare_stream, js, config))
        except APIError as exc:
            if config.num_replicas == 1:
                raise
            raise SettingsError(
                f"stream {spec.name} with {config.num_replicas} replicas refused by the NATS "
                f"server ({exc.description}); {env_name('stream_replicas')} may not exceed the "
                "JetStream servers in the cluster (a single nats-server keeps 1)"
            ) from exc
    for consumer in consumers:
        await settled(partial(js.add_consumer, consumer.stream, consumer_config(consumer)))


async def keep_replicas(js: JetStreamContext, stream: str, wanted: int) -> None:
    """Raise ``stream`` to ``wanted`` copies if it has fewer (never lowers: fewer copies is an
    operator's explicit decision). A stream the system declares gets its setting through
    ``ensure_topology``; this is for one made elsewhere (an object store's)."""
    info = await settled(partial(js.stream_info, stream))
    if (info.config.num_replicas or 1) >= wanted:
        return
    log.warning(
        "stream has fewer copies than the setting asks; raising",
        stream=stream,
        replicas=info.config.num_replicas,
        wanted=wanted,
    )
    info.config.num_replicas = wanted
    await settled(partial(js.update_stream, info.config))


async def wait_for_consumer(
    js: JetStreamContext, consumer: ConsumerSpec, timeout_s: float = 120.0
) -> None:
    """Until ``consumer`` exists: for a service that may use it but not create it (the executor,
    whose NATS user has no rights on streams; the queue declares its consumer)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await js.consumer_info(consumer.stream, consumer.durable)
            return
        except (NotFoundError, NatsTimeout, TimeoutError):
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.25)
