"""Readiness over NATS: ``runwright.health.<service>`` answers with a :class:`HealthReply`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from runwright_proto import subjects
from runwright_proto.commands import HealthReply

from runwright_bus.messages import encode

Checks = Callable[[], Awaitable[dict[str, str]]]
Counters = Callable[[], dict[str, int]]


async def serve_health(
    nc: Client, service: str, instance: str, checks: Checks, counters: Counters = dict
) -> Subscription:
    async def answer(msg: Msg) -> None:
        results = await checks()
        reply = HealthReply(
            service=service,
            instance=instance,
            ready=all(v == "ok" for v in results.values()),
            checks=results,
            counters=counters(),
        )
        await msg.respond(encode(reply))

    return await nc.subscribe(subjects.health(service), cb=answer)
