"""Create or update the streams and consumers declared in ``runwright_proto.streams``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError
from runwright_proto.streams import ConsumerSpec, StreamSpec


def stream_config(spec: StreamSpec) -> StreamConfig:
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


async def ensure_topology(
    js: JetStreamContext,
    streams: Iterable[StreamSpec],
    consumers: Iterable[ConsumerSpec] = (),
) -> None:
    """Idempotent: safe for every replica of every service to call at start-up."""
    for spec in streams:
        config = stream_config(spec)
        try:
            await js.stream_info(spec.name)
            await js.update_stream(config)
        except NotFoundError:
            await js.add_stream(config)
    for consumer in consumers:
        await js.add_consumer(consumer.stream, consumer_config(consumer))


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
