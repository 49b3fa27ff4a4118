"""Publishing reports durably: retry until the stream acknowledges, deduplicated by message id."""

from __future__ import annotations

import asyncio
import time

import msgspec
from nats.js import JetStreamContext
from runwright_bus import publish
from runwright_common.logging import get_logger
from runwright_common.redaction import redact
from runwright_proto import subjects
from runwright_proto.reports import Report, message_id

log = get_logger("runwright.executor.reporter")


class ReportLost(Exception):
    """The stream did not acknowledge a report in time; the job cannot go on."""


async def send(
    js: JetStreamContext, report: Report, secrets: tuple[str, ...], deadline_s: float = 60.0
) -> None:
    masked = msgspec.convert(redact(msgspec.to_builtins(report), secrets), type(report))
    stop_at = time.monotonic() + deadline_s
    delay = 0.1
    while True:
        try:
            await publish(js, subjects.report(report.job_id), masked, msg_id=message_id(report))
            return
        except Exception as exc:
            if time.monotonic() > stop_at:
                raise ReportLost(str(exc)) from exc
            log.warning("report not acknowledged; retrying", error=str(exc) or type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
