"""The JetStream object store where executors hand files to the artifact service."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError
from nats.js.object_store import ObjectStore
from runwright_common.settings import load
from runwright_proto import subjects

from runwright_bus.topology import Replicas, keep_replicas

STAGING_TTL_S = 7 * 24 * 3600


async def staging_bucket(js: JetStreamContext, *, own: bool = False) -> ObjectStore:
    """The staging bucket, created on first use by whichever side gets there first, with as many
    copies as the streams (``RUNWRIGHT_STREAM_REPLICAS``): a file handed over survives a node.

    ``own`` (the artifact service, whose NATS user may update the bucket's stream): a bucket made
    with fewer copies than the setting now asks (an installation grown from one nats-server to a
    cluster) is raised to it, as the streams are."""
    replicas = load(Replicas).stream_replicas
    try:
        bucket = await js.object_store(subjects.STAGING_BUCKET)
    except BucketNotFoundError:
        return await js.create_object_store(
            subjects.STAGING_BUCKET,
            config=ObjectStoreConfig(
                description="files handed over by executors",
                ttl=STAGING_TTL_S,
                replicas=replicas,
            ),
        )
    if own:
        await keep_replicas(js, f"OBJ_{subjects.STAGING_BUCKET}", replicas)
    return bucket
