"""Typed messages on the wire: msgspec JSON, trace context and ``Nats-Msg-Id`` in headers."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from nats.js import JetStreamContext
from nats.js.api import PubAck
from runwright_common.tracing import inject_headers

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def encode(message: Any) -> bytes:
    return _encoder.encode(message)


def decode(data: bytes, kind: type[T] | Any) -> T:
    """Decode with a cached decoder per type (a union of tagged Structs is one type)."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind)
    result: T = decoder.decode(data)
    return result


def headers(msg_id: str | None = None) -> dict[str, str]:
    values = inject_headers({})
    if msg_id:
        values["Nats-Msg-Id"] = msg_id
    return values


async def publish(
    js: JetStreamContext,
    subject: str,
    message: Any,
    *,
    msg_id: str | None = None,
    timeout: float = 5.0,
) -> PubAck:
    """Publish to JetStream and wait for the stream's acknowledgement (the message is durable)."""
    return await js.publish(subject, encode(message), timeout=timeout, headers=headers(msg_id))
