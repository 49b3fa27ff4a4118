"""What a receiver gets: a JSON notice, or one readable line for a Slack incoming webhook."""

from __future__ import annotations

from typing import Any

import msgspec
from runwright_proto.events import ApprovalEvent, StatusEvent
from runwright_proto.jobs import TERMINAL, step_label
from runwright_proto.webhooks import (
    SLACK_APPROVE,
    SLACK_REJECT,
    ApprovalNotice,
    ApprovalRequestedNotice,
    JobFinishedNotice,
    Notice,
    SlackMessage,
    WebhookEvent,
    WebhookFormat,
)

Notifiable = StatusEvent | ApprovalEvent
_encode = msgspec.json.Encoder().encode


def event_name(event: Notifiable) -> WebhookEvent | None:
    """The webhook event a job event raises, if any."""
    match event:
        case StatusEvent(status=status) if status in TERMINAL:
            return "job.finished"
        case ApprovalEvent(state="requested"):
            return "approval.requested"
        case _:
            return None


def job_link(public_url: str, job_id: str) -> str:
    return f"{public_url.rstrip('/')}/jobs/{job_id}"


def notice(event: Notifiable, delivery_id: str, title: str | None, link: str) -> Notice:
    if isinstance(event, StatusEvent):
        return JobFinishedNotice(
            delivery_id=delivery_id,
            job_id=event.job_id,
            title=title,
            link=link,
            at=event.at,
            status=event.status,
            previous=event.previous,
            reason=event.reason,
            actor=event.actor,
        )
    return ApprovalRequestedNotice(
        delivery_id=delivery_id,
        job_id=event.job_id,
        title=title,
        link=link,
        at=event.at,
        approval=ApprovalNotice(
            approval_id=event.approval_id,
            ordinal=event.ordinal,
            description=event.description,
            risk_level=event.risk_level,
            deadline=event.deadline,
        ),
    )


def body(fmt: WebhookFormat, message: Notice) -> bytes:
    if fmt == "slack":
        text = slack_text(message)
        if isinstance(message, ApprovalRequestedNotice):
            return _encode(SlackMessage(text, blocks=slack_blocks(text, message)))
        return _encode(SlackMessage(text))
    return _encode(message)


def slack_value(job_id: str, ordinal: int) -> str:
    return f"{job_id}:{ordinal}"


def slack_blocks(text: str, message: ApprovalRequestedNotice) -> list[dict[str, Any]]:
    """The message with Approve and Reject buttons (Block Kit); a click reaches the gateway's
    Slack interactions endpoint, which decides as the Runwright user linked to the clicker."""
    value = slack_value(message.job_id, message.approval.ordinal)
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": f"runwright_approval:{value}",
            "elements": [
                {
                    "type": "button",
                    "action_id": SLACK_APPROVE,
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Approve"},
                    "value": value,
                },
                {
                    "type": "button",
                    "action_id": SLACK_REJECT,
                    "style": "danger",
                    "text": {"type": "plain_text", "text": "Reject"},
                    "value": value,
                },
            ],
        },
    ]


def slack_text(message: Notice) -> str:
    name = _escape(message.title or f"job {message.job_id}")
    job = f"<{message.link}|{name}>" if "://" in message.link else f"“{name}” ({message.link})"
    match message:
        case JobFinishedNotice(status="completed"):
            return f"Runwright: {job} completed."
        case JobFinishedNotice(status="cancelled"):
            by = f" by {_escape(message.actor)}" if message.actor else ""
            return f"Runwright: {job} was cancelled{by}{_because(message.reason)}."
        case JobFinishedNotice(status=status):
            return f"Runwright: {job} {status}{_because(message.reason)}."
        case ApprovalRequestedNotice(approval=approval):
            step = step_label(approval.ordinal)
            if approval.description:
                step += f" ({_escape(approval.description)})"
            return (
                f"Runwright: {job} is waiting for approval before {step}, "
                f"risk {_escape(approval.risk_level)}."
            )
    raise AssertionError(f"no Slack text for {message!r}")


def _because(reason: str | None) -> str:
    return f": {_escape(reason)}" if reason else ""


def _escape(text: str) -> str:
    """Slack's three control characters in message text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
