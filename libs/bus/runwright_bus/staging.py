"""The JetStream object store where executors hand files to the artifact service."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError
from nats.js.object_store import ObjectStore
from runwright_common.settings import load
from runwright_proto import subjects

from runwright_bus.topology import Replicas

STAGING_TTL_S = 7 * 24 * 3600


async def staging_bucket(js: JetStreamContext) -> ObjectStore:
    """The staging bucket, created on first use by whichever side gets there first, with as many
    copies as the streams (``RUNWRIGHT_STREAM_REPLICAS``): a file handed over survives a node."""
    try:
        return await js.object_store(subjects.STAGING_BUCKET)
    except BucketNotFoundError:
        return await js.create_object_store(
            subjects.STAGING_BUCKET,
            config=ObjectStoreConfig(
                description="files handed over by executors",
                ttl=STAGING_TTL_S,
                replicas=load(Replicas).stream_replicas,
            ),
        )
