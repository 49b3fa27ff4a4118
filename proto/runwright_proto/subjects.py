"""NATS subject names. Job-scoped subjects end in the job id so subscribers can filter by job."""

from __future__ import annotations

SUBMIT = "runwright.queue.submit"
"""Request/reply, gateway to queue: record a new job (``SubmitJob`` → ``SubmitReply``)."""

SUBMIT_BATCH = "runwright.queue.submit_batch"
"""Request/reply, gateway to queue: record a batch run atomically (``SubmitBatch``)."""

CLAIM = "runwright.queue.claim"
"""Request/reply, executor to queue: take ownership of a dispatched job."""

RENEW = "runwright.queue.renew"
"""Request/reply, executor to queue: renew the lease on a running job."""

DISPATCH = "runwright.dispatch.jobs"
"""JetStream (stream DISPATCH, work queue): a job is ready for an executor."""

REPORTS = "runwright.report.>"
"""JetStream (stream REPORTS, work queue): what executors report about the jobs they run."""

EVENTS = "runwright.events.>"
"""JetStream (stream EVENTS) and core subscribers: each job event, after Postgres recorded it."""

HEALTH = "runwright.health.*"
"""Request/reply: every service answers its readiness on ``runwright.health.<service>``."""

QUEUE_GROUP = "runwright"


def report(job_id: str) -> str:
    return f"runwright.report.{job_id}"


def events(job_id: str) -> str:
    return f"runwright.events.{job_id}"


def health(service: str) -> str:
    return f"runwright.health.{service}"
