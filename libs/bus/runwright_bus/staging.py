"""The JetStream object store where executors hand files to the artifact service."""

from __future__ import annotations

from nats.js import JetStreamContext
from nats.js.api import ObjectStoreConfig
from nats.js.errors import BucketNotFoundError
from nats.js.object_store import ObjectStore
from runwright_proto import subjects

STAGING_TTL_S = 7 * 24 * 3600


async def staging_bucket(js: JetStreamContext) -> ObjectStore:
    """The staging bucket, created on first use by whichever side gets there first."""
    try:
        return await js.object_store(subjects.STAGING_BUCKET)
    except BucketNotFoundError:
        return await js.create_object_store(
            subjects.STAGING_BUCKET,
            config=ObjectStoreConfig(
                description="files handed over by executors", ttl=STAGING_TTL_S
            ),
        )
