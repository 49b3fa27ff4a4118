"""NATS helpers: every service connects, publishes, requests and consumes through these."""

from runwright_bus.connect import connect, wait_for_port
from runwright_bus.consume import consume_keyed
from runwright_bus.messages import decode, encode, publish
from runwright_bus.rpc import request, serve
from runwright_bus.topology import ensure_topology

__all__ = [
    "connect",
    "consume_keyed",
    "decode",
    "encode",
    "ensure_topology",
    "publish",
    "request",
    "serve",
    "wait_for_port",
]
