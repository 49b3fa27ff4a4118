"""JetStream streams and durable consumers, declared once; services create them idempotently."""

from __future__ import annotations

from typing import Literal

from msgspec import Struct

from runwright_proto import subjects


class StreamSpec(Struct, frozen=True, kw_only=True):
    name: str
    subjects: list[str]
    retention: Literal["limits", "workqueue"]
    max_age_s: float = 0
    duplicate_window_s: float = 120
    description: str = ""


class ConsumerSpec(Struct, frozen=True, kw_only=True):
    stream: str
    durable: str
    filter_subject: str
    ack_wait_s: float = 30
    max_deliver: int = -1
    backoff_s: list[float] = []
    max_ack_pending: int = 1000
    description: str = ""


DISPATCH = StreamSpec(
    name="DISPATCH",
    subjects=["runwright.dispatch.>"],
    retention="workqueue",
    description="Jobs ready to run; each message is taken by one executor.",
)

REPORTS = StreamSpec(
    name="REPORTS",
    subjects=[subjects.REPORTS],
    retention="workqueue",
    description="Executors' reports on steps and jobs; the queue service applies them.",
)

EVENTS = StreamSpec(
    name="EVENTS",
    subjects=[subjects.EVENTS],
    retention="limits",
    max_age_s=7 * 24 * 3600,
    description="Job events after Postgres recorded them; for internal subscribers.",
)

ARTIFACTS = StreamSpec(
    name="ARTIFACTS",
    subjects=["runwright.artifacts.>"],
    retention="workqueue",
    description="Files handed over by executors (staged) and recorded by the artifact service "
    "(stored).",
)

ALL_STREAMS = (DISPATCH, REPORTS, EVENTS, ARTIFACTS)

EXECUTORS = ConsumerSpec(
    stream="DISPATCH",
    durable="executors",
    filter_subject="runwright.dispatch.>",
    ack_wait_s=30,
    max_ack_pending=10_000,
    description="Shared by every executor; each pulls one message per free browser slot.",
)

QUEUE_REPORTS = ConsumerSpec(
    stream="REPORTS",
    durable="queue-reports",
    filter_subject=subjects.REPORTS,
    ack_wait_s=30,
    # A report out of its turn, or an approval whose screenshot is still being stored, is sent
    # back for a fraction of a second; each return counts as a delivery. No BackOff: with one,
    # nats-server redelivers a negatively acknowledged message after the BackOff step its
    # delivery count has reached, not the delay the nak asked for, so after a PostgreSQL outage
    # (every report sent back a few times) reports trickled back 10 s apart while the leases of
    # the jobs that sent them ran out (tests/test_dependency_outage_e2e.py).
    max_deliver=500,
    max_ack_pending=10_000,
    description="The queue service applies executor reports to Postgres.",
)

ARTIFACT_STAGED = ConsumerSpec(
    stream="ARTIFACTS",
    durable="artifact-staged",
    filter_subject=subjects.ARTIFACTS_STAGED,
    ack_wait_s=120,
    max_deliver=20,
    max_ack_pending=64,
    description="The artifact service moves staged files into the store and records them.",
)

QUEUE_ARTIFACTS = ConsumerSpec(
    stream="ARTIFACTS",
    durable="queue-artifacts",
    filter_subject=subjects.ARTIFACTS_STORED,
    ack_wait_s=30,
    max_deliver=20,
    max_ack_pending=10_000,
    description="The queue service adds an `artifact` event to the job's stream.",
)

GATEWAY_AUDIT = ConsumerSpec(
    stream="EVENTS",
    durable="gateway-audit",
    filter_subject=subjects.EVENTS,
    ack_wait_s=30,
    max_ack_pending=1000,
    description="The gateway records in its audit log the status changes a service made by "
    "itself (a schedule's submission, a run time reached, an approval or job timing out, an "
    "executor lost). Created by the gateway with deliver policy `new`; a database outage naks "
    "and the events come back.",
)

ALL_CONSUMERS = (EXECUTORS, QUEUE_REPORTS, ARTIFACT_STAGED, QUEUE_ARTIFACTS)
