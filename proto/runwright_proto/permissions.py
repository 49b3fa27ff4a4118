"""What each service may publish and subscribe to on NATS, derived from ``channels``.

nats-server enforces these per user (the embedded stack's ``nats.conf``, and ``deploy/``), so a
service holds the subjects its channels name and nothing more. The executor, the one that runs
untrusted pages, gets the least: pull dispatch, receive control and watch notices, publish its
reports, frames and staged files, ask the queue to claim, renew and tell it the state, and answer
its health. It cannot create or change streams, read another service's inbox, submit jobs or
publish events. Services use their own inbox prefix (``_INBOX_<service>``) so no one else's
replies can be read.
"""

from __future__ import annotations

from dataclasses import dataclass

from runwright_proto import streams, subjects
from runwright_proto.channels import CHANNELS, SERVICES, Service

STAGING_STREAM = f"OBJ_{subjects.STAGING_BUCKET}"
"""The JetStream stream behind the staging object store."""


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]


def inbox_prefix(service: str) -> str:
    return f"_INBOX_{service}"


def _declare(stream: str) -> set[str]:
    """Declare a stream (what every control-plane service does at start-up, idempotently);
    no reading, no deleting, no consumers."""
    api = "$JS.API"
    return {
        f"{api}.STREAM.CREATE.{stream}",
        f"{api}.STREAM.UPDATE.{stream}",
        f"{api}.STREAM.INFO.{stream}",
    }


def _declare_consumer(consumer: streams.ConsumerSpec) -> set[str]:
    """Declare one durable consumer (by name, with or without its filter in the subject)."""
    where = f"{consumer.stream}.{consumer.durable}"
    return {
        f"$JS.API.CONSUMER.CREATE.{where}",
        f"$JS.API.CONSUMER.CREATE.{where}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{where}",
        f"$JS.API.CONSUMER.INFO.{where}",
    }


def _read(stream: str) -> set[str]:
    """Consume a stream: ephemeral and ordered consumers, pulls, acknowledgements, lookups."""
    api = "$JS.API"
    return {
        f"{api}.CONSUMER.CREATE.{stream}",
        f"{api}.CONSUMER.CREATE.{stream}.>",
        f"{api}.CONSUMER.DELETE.{stream}.>",
        f"{api}.CONSUMER.MSG.NEXT.{stream}.>",
        f"{api}.STREAM.MSG.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}",
        f"{api}.DIRECT.GET.{stream}.>",
        f"$JS.ACK.{stream}.>",
    }


def _pull(consumer: streams.ConsumerSpec) -> set[str]:
    """Pull from one durable and acknowledge what it delivers, nothing else of the stream."""
    return {
        f"$JS.API.CONSUMER.MSG.NEXT.{consumer.stream}.{consumer.durable}",
        f"$JS.API.CONSUMER.INFO.{consumer.stream}.{consumer.durable}",
        f"$JS.ACK.{consumer.stream}.{consumer.durable}.>",
    }


def permissions(service: Service) -> Permissions:
    publish: set[str] = set()
    subscribe: set[str] = {f"{inbox_prefix(service)}.>", subjects.health(service)}
    control_plane = service != "executor"
    for channel in CHANNELS:
        publishes = service in channel.publishers
        consumes = service in channel.consumers
        if publishes:
            publish.add(channel.subject)
        if control_plane and (publishes or consumes):
            for durable in channel.durables:
                publish |= _declare_consumer(durable)
        if not consumes or channel.name == "health":
            continue
        if channel.transport == "jetstream" and not control_plane:
            for durable in channel.durables:
                publish |= _pull(durable)
        else:
            subscribe.add(channel.subject)
            if channel.stream is not None:
                publish |= _read(channel.stream.name)
    if control_plane:
        publish.add("$JS.API.INFO")
        publish.add("$JS.API.STREAM.NAMES")  # finding the stream that holds a subject
        publish.add("$JS.FC.>")
        for stream in streams.ALL_STREAMS:
            publish |= _declare(stream.name)
    if service == "executor":
        # Hand files over: write chunks and metadata, read an object's metadata back.
        publish |= {
            f"$O.{subjects.STAGING_BUCKET}.C.>",
            f"$O.{subjects.STAGING_BUCKET}.M.>",
            f"$JS.API.STREAM.INFO.{STAGING_STREAM}",
            f"$JS.API.STREAM.MSG.GET.{STAGING_STREAM}",
            f"$JS.API.DIRECT.GET.{STAGING_STREAM}.>",
        }
    if service == "artifact":
        publish |= (
            _declare(STAGING_STREAM)
            | _read(STAGING_STREAM)
            | {
                f"$O.{subjects.STAGING_BUCKET}.>",
                f"$JS.API.STREAM.PURGE.{STAGING_STREAM}",
                f"$JS.API.STREAM.MSG.DELETE.{STAGING_STREAM}",
            }
        )
    return Permissions(publish=tuple(sorted(publish)), subscribe=tuple(sorted(subscribe)))


ALL: dict[Service, Permissions] = {service: permissions(service) for service in SERVICES}
