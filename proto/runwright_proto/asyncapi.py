"""Render ``channels.CHANNELS`` as an AsyncAPI 3.0 document (``proto/schema/asyncapi.json``).

Each subject is a channel (its address, transport, stream and durable consumers); each service
that publishes or consumes it has an operation (``send`` or ``receive``); request/reply channels
carry their reply. Message payloads are the JSON Schema of the msgspec types.
"""

from __future__ import annotations

from typing import Any, get_args

import msgspec

from runwright_proto import commands, live
from runwright_proto.channels import CHANNELS, EMPTY, RAW_JPEG, Channel

REF = "#/components/schemas/{name}"


def _members(types: tuple[Any, ...]) -> list[Any]:
    flat: list[Any] = []
    for item in types:
        flat.extend(get_args(item) or [item])
    return flat


def _name(item: Any) -> str:
    return item if isinstance(item, str) else str(item.__name__)


def _raw_messages() -> dict[str, Any]:
    frame_headers = {
        "type": "object",
        "properties": {
            h: {"type": "string"} for h in (live.CAPTURED_AT, live.WIDTH, live.HEIGHT, live.FRAME)
        },
    }
    return {
        RAW_JPEG: {
            "name": RAW_JPEG,
            "contentType": "image/jpeg",
            "payload": {"type": "string", "contentEncoding": "binary"},
            "headers": frame_headers,
            "description": "A JPEG frame as bytes; its facts in NATS headers.",
        },
        EMPTY: {
            "name": EMPTY,
            "payload": {"type": "string", "maxLength": 0},
            "description": "An empty payload: the subject is the message.",
        },
    }


def _components() -> tuple[dict[str, Any], dict[str, Any]]:
    types = {
        item
        for channel in CHANNELS
        for item in _members(channel.messages + channel.replies)
        if not isinstance(item, str)
    }
    types.add(commands.ErrorReply)
    ordered = sorted(types, key=_name)
    _, schemas = msgspec.json.schema_components(ordered, ref_template=REF)
    messages = {
        _name(t): {"name": _name(t), "payload": {"$ref": REF.format(name=_name(t))}}
        for t in ordered
    }
    return {**messages, **_raw_messages()}, _schema_object(schemas)


def _schema_object(node: Any) -> Any:
    """JSON Schema as AsyncAPI's schema object wants it: ``discriminator`` names the property
    (msgspec writes OpenAPI's ``{"propertyName": ..., "mapping": ...}``)."""
    if isinstance(node, list):
        return [_schema_object(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _schema_object(value) for key, value in node.items()}
    if isinstance(out.get("discriminator"), dict):
        out["discriminator"] = out["discriminator"]["propertyName"]
    return out


def _refs(types: list[Any]) -> dict[str, Any]:
    return {_name(t): {"$ref": f"#/components/messages/{_name(t)}"} for t in types}


def _channel(channel: Channel) -> dict[str, Any]:
    body: dict[str, Any] = {
        "address": channel.subject,
        "description": channel.description,
        "messages": _refs(_members(channel.messages)),
        "x-runwright-transport": channel.transport,
        "x-runwright-publishers": list(channel.publishers),
        "x-runwright-consumers": list(channel.consumers),
    }
    if channel.stream is not None:
        body["x-runwright-stream"] = msgspec.to_builtins(channel.stream)
        body["x-runwright-durables"] = [msgspec.to_builtins(d) for d in channel.durables]
    return body


def _reply_channel(channel: Channel) -> dict[str, Any]:
    return {
        "address": None,
        "description": f"The answer to {channel.subject}, on the requester's inbox.",
        "messages": _refs([*_members(channel.replies), commands.ErrorReply]),
    }


def _operations(channel: Channel) -> dict[str, Any]:
    ref = {"$ref": f"#/channels/{channel.name}"}
    ops: dict[str, Any] = {}
    for action, services in (("send", channel.publishers), ("receive", channel.consumers)):
        for service in services:
            op: dict[str, Any] = {
                "action": action,
                "channel": ref,
                "summary": f"{service} {action}s on {channel.subject}",
                "x-runwright-service": service,
            }
            if channel.transport == "request":
                op["reply"] = {
                    "address": {"location": "$message.header#/reply_to"},
                    "channel": {"$ref": f"#/channels/{channel.name}.reply"},
                }
            ops[f"{service}.{action}.{channel.name}"] = op
    return ops


def render() -> dict[str, Any]:
    messages, schemas = _components()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel in CHANNELS:
        channels[channel.name] = _channel(channel)
        if channel.transport == "request":
            channels[f"{channel.name}.reply"] = _reply_channel(channel)
        operations.update(_operations(channel))
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Runwright messaging",
            "version": "1",
            "description": "Every NATS subject between Runwright's services: JetStream streams "
            "and their consumers, core request/reply, and core fan-out. Generated from "
            "runwright_proto.channels by `make proto`.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "nats": {
                "host": "127.0.0.1:4222",
                "protocol": "nats",
                "description": "The NATS server with JetStream (RUNWRIGHT_NATS_URL).",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }
