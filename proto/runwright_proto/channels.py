"""Every NATS subject Runwright uses, as data: what travels on it, over which transport (a
JetStream stream and its consumers, core NATS request/reply, or core NATS fan-out), and which
services publish and consume it. ``runwright_proto.asyncapi`` renders this into AsyncAPI 3.

Add a subject here when you add it to ``subjects`` (a test fails when one is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from runwright_proto import (
    approvals,
    artifacts,
    commands,
    control,
    events,
    reports,
    schedules,
    streams,
    subjects,
    webhooks,
)

Transport = Literal["jetstream", "request", "core"]
Service = Literal["gateway", "queue", "executor", "scheduler", "approval", "artifact"]
SERVICES: tuple[Service, ...] = (
    "gateway",
    "queue",
    "executor",
    "scheduler",
    "approval",
    "artifact",
)

RAW_JPEG = "raw-jpeg"
"""The payload is a JPEG image as bytes, with its facts in headers (``runwright_proto.live``)."""
EMPTY = "empty"
"""The payload is empty: the subject itself is the message."""


@dataclass(frozen=True, kw_only=True)
class Channel:
    name: str
    subject: str
    transport: Transport
    messages: tuple[Any, ...]
    """The types published on the subject (a tagged union counts as its members), or RAW_JPEG or
    EMPTY."""
    publishers: tuple[Service, ...]
    consumers: tuple[Service, ...]
    description: str
    replies: tuple[Any, ...] = ()
    """Request/reply: what the answer may be (``ErrorReply`` is added to every one)."""
    stream: streams.StreamSpec | None = None
    durables: tuple[streams.ConsumerSpec, ...] = ()


def _request(
    name: str, subject: str, ask: Any, answer: Any, by: Service, to: Service, what: str
) -> Channel:
    return Channel(
        name=name,
        subject=subject,
        transport="request",
        messages=(ask,),
        replies=(answer,),
        publishers=(by,),
        consumers=(to,),
        description=f"Request/reply, {by} to {to}: {what}.",
    )


CHANNELS: tuple[Channel, ...] = (
    Channel(
        name="queue.submit",
        subject=subjects.SUBMIT,
        transport="request",
        messages=(commands.SubmitJob,),
        replies=(commands.SubmitReply,),
        publishers=("gateway", "scheduler"),
        consumers=("queue",),
        description="Record a new job (an API request, or a schedule's occurrence).",
    ),
    _request(
        "queue.submit_batch",
        subjects.SUBMIT_BATCH,
        commands.SubmitBatch,
        commands.SubmitBatchReply,
        "gateway",
        "queue",
        "record a batch run, one job per row, atomically",
    ),
    _request(
        "queue.claim",
        subjects.CLAIM,
        commands.ClaimJob,
        commands.ClaimReply,
        "executor",
        "queue",
        "take ownership of a dispatched job (bumps the attempt, starts a lease)",
    ),
    _request(
        "queue.renew",
        subjects.RENEW,
        commands.RenewLease,
        commands.RenewReply,
        "executor",
        "queue",
        "extend the lease on a running job (executors of earlier releases; this release renews "
        "all its jobs together on runwright.queue.renew_leases)",
    ),
    _request(
        "queue.renew_leases",
        subjects.RENEW_LEASES,
        commands.RenewLeases,
        commands.RenewLeasesReply,
        "executor",
        "queue",
        "extend the leases of all the executor's running jobs at once (at most "
        f"{commands.RENEW_BATCH} a request); the reply names the jobs it no longer holds",
    ),
    _request(
        "queue.workspace_limits",
        subjects.WORKSPACE_LIMITS,
        commands.SetWorkspaceLimits,
        commands.WorkspaceLimitsReply,
        "gateway",
        "queue",
        "set a workspace's concurrency limit and queue cap (the queue applies them when it "
        "admits and claims jobs)",
    ),
    _request(
        "queue.state",
        subjects.STATE,
        control.JobState,
        control.JobStateReply,
        "executor",
        "queue",
        "while waiting, the job's status and any decision",
    ),
    Channel(
        name="dispatch",
        subject=subjects.DISPATCH,
        transport="jetstream",
        messages=(commands.DispatchJob,),
        publishers=("queue",),
        consumers=("executor",),
        stream=streams.DISPATCH,
        durables=(streams.EXECUTORS,),
        description="A job is ready: wakes one executor, which then claims (published from the "
        "queue's outbox).",
    ),
    Channel(
        name="reports",
        subject=subjects.REPORTS,
        transport="jetstream",
        messages=get_args(reports.Report),
        publishers=("executor",),
        consumers=("queue",),
        stream=streams.REPORTS,
        durables=(streams.QUEUE_REPORTS,),
        description="``runwright.report.<job_id>``: what an executor reports about the job it "
        "runs, in order, fenced by attempt.",
    ),
    Channel(
        name="events",
        subject=subjects.EVENTS,
        transport="jetstream",
        messages=get_args(events.JobEvent),
        publishers=("queue",),
        consumers=("gateway", "approval"),
        stream=streams.EVENTS,
        durables=(webhooks.APPROVAL_NOTIFY, streams.GATEWAY_AUDIT),
        description="``runwright.events.<workspace>.<job_id>``: each job event after Postgres "
        "recorded it. "
        "The gateway reads it as a core subscription (job streams), through ordered "
        "consumers (the workspace stream) and through its audit durable; the approval service "
        "through its durable.",
    ),
    Channel(
        name="artifacts.staged",
        subject=subjects.ARTIFACTS_STAGED,
        transport="jetstream",
        messages=(artifacts.ArtifactStaged,),
        publishers=("executor",),
        consumers=("artifact",),
        stream=streams.ARTIFACTS,
        durables=(streams.ARTIFACT_STAGED,),
        description="``runwright.artifacts.staged.<job_id>``: a file is in the staging object "
        f"store (bucket ``{subjects.STAGING_BUCKET}``).",
    ),
    Channel(
        name="artifacts.stored",
        subject=subjects.ARTIFACTS_STORED,
        transport="jetstream",
        messages=(artifacts.ArtifactStored,),
        publishers=("artifact",),
        consumers=("queue",),
        stream=streams.ARTIFACTS,
        durables=(streams.QUEUE_ARTIFACTS,),
        description="``runwright.artifacts.stored.<job_id>``: the artifact service stored and "
        "recorded a file (published from its outbox).",
    ),
    _request(
        "artifact.presign",
        subjects.ARTIFACT_PRESIGN,
        artifacts.PresignArtifact,
        artifacts.PresignReply,
        "gateway",
        "artifact",
        "a short-lived download URL for a stored artifact (S3)",
    ),
    Channel(
        name="control",
        subject=subjects.CONTROL,
        transport="core",
        messages=(control.Control,),
        publishers=("queue",),
        consumers=("executor",),
        description="``runwright.control.<job_id>``: steer the running job (best effort; the "
        "executor also polls queue.state).",
    ),
    Channel(
        name="live.frames",
        subject=subjects.LIVE_FRAMES,
        transport="core",
        messages=(RAW_JPEG,),
        publishers=("executor",),
        consumers=("gateway",),
        description="``runwright.live.frames.<job_id>``: live view frames while someone watches.",
    ),
    Channel(
        name="live.watch",
        subject=subjects.LIVE_WATCH,
        transport="core",
        messages=(EMPTY,),
        publishers=("gateway",),
        consumers=("executor",),
        description="``runwright.live.watch.<job_id>``: someone watches this job (every few s).",
    ),
    Channel(
        name="health",
        subject=subjects.HEALTH,
        transport="request",
        messages=(EMPTY,),
        replies=(commands.HealthReply,),
        publishers=("gateway",),
        consumers=("queue", "executor", "scheduler", "approval", "artifact"),
        description="``runwright.health.<service>``: is the service ready?",
    ),
    Channel(
        name="approval.decide",
        subject=subjects.APPROVAL_DECIDE,
        transport="request",
        messages=(approvals.Decide,),
        replies=(approvals.DecideReply,),
        publishers=("gateway",),
        consumers=("approval",),
        description="Request/reply, gateway to approval: a person's approve, reject or skip. The "
        "approval service applies the runbook's approver policy, records the decision and, when "
        "it is final, asks the queue (queue.action, with the job's version).",
    ),
    Channel(
        name="queue.action",
        subject=subjects.ACTION,
        transport="request",
        messages=(control.JobAction,),
        replies=(control.ActionReply,),
        publishers=("gateway", "approval"),
        consumers=("queue",),
        description="A person's action on a job: pause, resume and cancel from the gateway; "
        "approve, reject and skip from the approval service once its policy says the decision "
        "is final.",
    ),
    _request(
        "approval.webhooks.create",
        webhooks.CREATE,
        webhooks.CreateWebhook,
        webhooks.WebhookCreated | webhooks.WebhookRejected,
        "gateway",
        "approval",
        "add a webhook subscription",
    ),
    _request(
        "approval.webhooks.delete",
        webhooks.DELETE,
        webhooks.DeleteWebhook,
        webhooks.WebhookDeleted,
        "gateway",
        "approval",
        "remove a subscription and its deliveries",
    ),
    _request(
        "approval.webhooks.update",
        webhooks.UPDATE,
        webhooks.UpdateWebhook,
        webhooks.WebhookUpdated,
        "gateway",
        "approval",
        "change a subscription's events, or pause and resume it",
    ),
    _request(
        "approval.webhooks.resend",
        webhooks.RESEND,
        webhooks.Resend,
        webhooks.Resent,
        "gateway",
        "approval",
        "send a webhook a test notice, or one of its deliveries again",
    ),
    _request(
        "scheduler.create",
        schedules.CREATE,
        schedules.CreateSchedule,
        schedules.ScheduleReply,
        "gateway",
        "scheduler",
        "record a new schedule",
    ),
    _request(
        "scheduler.update",
        schedules.UPDATE,
        schedules.UpdateSchedule,
        schedules.ScheduleReply,
        "gateway",
        "scheduler",
        "replace a schedule's definition at a version",
    ),
    _request(
        "scheduler.delete",
        schedules.DELETE,
        schedules.DeleteSchedule,
        schedules.ScheduleReply,
        "gateway",
        "scheduler",
        "remove a schedule and its history",
    ),
)
