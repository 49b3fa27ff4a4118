"""Every size Runwright accepts from outside, named once (``docs/limits.md`` lists them).

The runbook's own limits live with the runbook model and are re-exported here; the rest bound what
a request may carry so that nothing over them ever reaches the bus or the database.
"""

from __future__ import annotations

from runwright_runbook.limits import (
    MAX_DEPTH,
    MAX_NODES,
    MAX_RUNBOOK_BYTES,
    MAX_STEPS,
    MAX_VARIABLES,
    kib,
    unstorable,
)

__all__ = [
    "MAX_BATCH_ROWS",
    "MAX_BODY_BYTES",
    "MAX_BODY_DEPTH",
    "MAX_BODY_NODES",
    "MAX_BUS_MESSAGE_BYTES",
    "MAX_DEPTH",
    "MAX_LABELS",
    "MAX_LABEL_BYTES",
    "MAX_NODES",
    "MAX_QUERY_BYTES",
    "MAX_RUNBOOK_BYTES",
    "MAX_STEPS",
    "MAX_VALUES_BYTES",
    "MAX_VARIABLES",
    "MAX_VARIABLE_BYTES",
    "kib",
    "unstorable",
]

MAX_BUS_MESSAGE_BYTES = 768 * 1024
"""One message on NATS (its default payload limit is 1 MiB; headers and framing need room)."""
MAX_BODY_BYTES = 1024 * 1024
"""One HTTP request body."""
MAX_BODY_DEPTH = MAX_DEPTH + 2
"""A body nests a runbook (``{"runbook": …}``) or rows one level down."""
MAX_BODY_NODES = 2 * MAX_NODES
MAX_VARIABLE_BYTES = 64 * 1024
"""One variable's or secret's value, and one batch row's field."""
MAX_VALUES_BYTES = 256 * 1024
"""All variables and secrets of one request together."""
MAX_BATCH_ROWS = 10_000
"""Rows of one batch run (its jobs must also fit one bus message together)."""
MAX_LABELS = 50
MAX_LABEL_BYTES = 300
"""A label's name or value."""
MAX_QUERY_BYTES = 4096
"""A request's whole query string."""
