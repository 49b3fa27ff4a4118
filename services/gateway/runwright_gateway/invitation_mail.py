"""Sending an invitation link by e-mail, when an SMTP server is configured (``RUNWRIGHT_SMTP_*``).
Without one the link is shown to the inviting Admin to pass on."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from email.message import EmailMessage

from runwright_common.logging import get_logger

from runwright_gateway.settings import GatewaySettings

log = get_logger("runwright.gateway")


def message(
    settings: GatewaySettings, to: str, workspace: str, role: str, link: str
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.smtp_from
    mail["To"] = to
    mail["Subject"] = f"You are invited to the Runwright workspace {workspace}"
    mail.set_content(
        f"You are invited to join the Runwright workspace {workspace} as {role}.\n\n"
        f"Open this link within 7 days to accept:\n{link}\n\n"
        "If you did not expect this, ignore this message.\n"
    )
    return mail


def _send(settings: GatewaySettings, mail: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password)
        smtp.send_message(mail)


async def send(settings: GatewaySettings, to: str, workspace: str, role: str, link: str) -> bool:
    """Whether the link went out by e-mail (False: not configured, or the server refused; the
    link is then shown instead, so an invitation is never lost to a mail outage)."""
    if not settings.smtp_host:
        return False
    try:
        await asyncio.to_thread(_send, settings, message(settings, to, workspace, role, link))
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("invitation mail failed", to_domain=to.rpartition("@")[2], error=str(exc))
        return False
    return True
