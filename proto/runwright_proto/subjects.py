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

RENEW_LEASES = "runwright.queue.renew_leases"
"""Request/reply, executor to queue: renew the leases of all its running jobs at once
(``RenewLeases``; ``RENEW`` stays for executors of earlier releases)."""

DISPATCH = "runwright.dispatch.jobs"
"""JetStream (stream DISPATCH, work queue): a job is ready for an executor."""

REPORTS = "runwright.report.>"
"""JetStream (stream REPORTS, work queue): what executors report about the jobs they run."""

EVENTS = "runwright.events.>"
"""JetStream (stream EVENTS) and core subscribers: each job event, after Postgres recorded it, on
``runwright.events.<workspace>.<job_id>``."""

WORKSPACE_LIMITS = "runwright.queue.workspace_limits"
"""Request/reply, gateway to queue: set a workspace's concurrency limit and queue cap."""

HEALTH = "runwright.health.*"
"""Request/reply: every service answers its readiness on ``runwright.health.<service>``."""

ARTIFACTS_STAGED = "runwright.artifacts.staged.>"
"""JetStream (stream ARTIFACTS): an executor put a file in the staging object store."""

ARTIFACTS_STORED = "runwright.artifacts.stored.>"
"""JetStream (stream ARTIFACTS): the artifact service stored a file and recorded it."""

ARTIFACT_PRESIGN = "runwright.artifact.presign"
"""Request/reply, gateway to artifact: a short-lived download URL (``PresignArtifact``)."""

STAGING_BUCKET = "runwright-staging"
"""JetStream object store where executors hand files over; the artifact service empties it."""

LIVE_FRAMES = "runwright.live.frames.>"
"""Core NATS, executor to gateway: live view frames (raw JPEG; see ``runwright_proto.live``)."""

LIVE_WATCH = "runwright.live.watch.>"
"""Core NATS, gateway to executors: someone watches this job (sent every few seconds)."""

ACTION = "runwright.queue.action"
"""Request/reply, gateway to queue: a person's action on a job (``JobAction``)."""

STATE = "runwright.queue.state"
"""Request/reply, executor to queue: the job's status and any decision (``JobState``)."""

APPROVAL_DECIDE = "runwright.approval.decide"
"""Request/reply, gateway to approval: a person's approve, reject or skip (``Decide``); the
approval service applies the approver policy and asks the queue (``ACTION``) when it is final."""

CONTROL = "runwright.control.>"
"""Core NATS, queue to executors: steer the running job (``Control``)."""

QUEUE_GROUP = "runwright"


def control(job_id: str) -> str:
    return f"runwright.control.{job_id}"


def artifact_staged(job_id: str) -> str:
    return f"runwright.artifacts.staged.{job_id}"


def artifact_stored(job_id: str) -> str:
    return f"runwright.artifacts.stored.{job_id}"


def live_frames(job_id: str) -> str:
    return f"runwright.live.frames.{job_id}"


def live_watch(job_id: str) -> str:
    return f"runwright.live.watch.{job_id}"


def report(job_id: str) -> str:
    return f"runwright.report.{job_id}"


def events(workspace: str, job_id: str) -> str:
    """A job's events: ``runwright.events.<workspace>.<job_id>``, so an internal subscriber can
    follow one workspace (``workspace_events``) or one job (``runwright.events.*.<job_id>``)."""
    return f"runwright.events.{workspace}.{job_id}"


def workspace_events(workspace: str) -> str:
    """Every job event of one workspace (a subscription filter)."""
    return f"runwright.events.{workspace}.*"


def health(service: str) -> str:
    return f"runwright.health.{service}"
