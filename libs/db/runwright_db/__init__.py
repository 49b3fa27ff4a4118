"""PostgreSQL helpers shared by the services that own tables."""

from runwright_db import retention
from runwright_db.idempotency import first_delivery
from runwright_db.migrate import migrate, prepare_schema
from runwright_db.outbox import OutboxRelay, enqueue, enqueue_many
from runwright_db.pool import create_pool, wait_for_database

__all__ = [
    "OutboxRelay",
    "create_pool",
    "enqueue",
    "enqueue_many",
    "first_delivery",
    "migrate",
    "prepare_schema",
    "retention",
    "wait_for_database",
]
