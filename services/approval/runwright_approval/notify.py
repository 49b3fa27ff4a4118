"""Job events to webhook deliveries: one row per subscribed webhook, recorded once per event.

The consumer only records; a :class:`~runwright_approval.delivery.Dispatcher` sends. So a slow
receiver never holds up the event stream, and a recorded delivery survives a restart.

Spans: one in the job's trace for an event that records something (an approval's decision, a
delivery for a subscribed webhook), none for the status events no webhook asked for: the consumer
reads every status event of every job, and a span saying "nothing to send" for each made a third
of the spans of a submission (and of what tracing added to its cost).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import asyncpg
import msgspec
from nats.aio.msg import Msg
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from runwright_common.errors import RetryableError
from runwright_common.logging import get_logger
from runwright_proto.events import ApprovalEvent, StatusEvent

from runwright_approval import decisions, payloads
from runwright_approval.payloads import Notifiable

log = get_logger("runwright.approval.notify")
_tracer = trace.get_tracer("runwright.approval")
CONSUMER = "approval-notify"


class _Head(msgspec.Struct):
    type: str


_head = msgspec.json.Decoder(_Head)
_notifiable = msgspec.json.Decoder(StatusEvent | ApprovalEvent)
_TITLE_MISSING = (
    asyncpg.UndefinedTableError,
    asyncpg.InvalidSchemaNameError,
    asyncpg.InsufficientPrivilegeError,
)


class Notifier:
    """The handler of the ``approval-notify`` consumer."""

    def __init__(self, pool: asyncpg.Pool, public_url: str, on_recorded: Callable[[], None]):
        self._pool, self._public_url, self._on_recorded = pool, public_url, on_recorded

    @staticmethod
    def relevant(raw: msgspec.Raw) -> bool:
        """Only status and approval events notify (the consumer acks the others untouched)."""
        return _head.decode(raw).type in ("status", "approval")

    async def handle(self, raw: msgspec.Raw, _: Msg) -> None:
        # Decode only the two kinds that notify: reports are large, new kinds are not errors.
        if not self.relevant(raw):
            return
        event: Notifiable = _notifiable.decode(raw)
        try:
            if isinstance(event, ApprovalEvent):
                with _span(event):
                    await decisions.record_event(self._pool, event)
            recorded = await record(self._pool, event, self._public_url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise RetryableError(f"could not record deliveries: {exc}", delay_s=5.0) from exc
        if recorded:
            self._on_recorded()


async def record(pool: asyncpg.Pool, event: Notifiable, public_url: str = "") -> int:
    """Record a delivery of ``event`` for every active webhook subscribed to it.

    Returns how many were new; an event seen before (``<job_id>:<seq>``) records nothing.
    """
    name = payloads.event_name(event)
    if name is None:
        return 0
    hooks = await pool.fetch(
        "SELECT id, format FROM approval.webhooks "
        "WHERE active AND $1 = ANY(events) AND workspace = $2",
        name,
        event.workspace,
    )
    if not hooks:
        return 0
    with _span(event, len(hooks)):
        return await _record(pool, event, name, hooks, public_url)


async def _record(
    pool: asyncpg.Pool,
    event: Notifiable,
    name: str,
    hooks: list[asyncpg.Record],
    public_url: str,
) -> int:
    job_id = uuid.UUID(event.job_id)
    title = await _job_title(pool, job_id)
    link = payloads.job_link(public_url, event.job_id)
    key = f"{event.job_id}:{event.seq}"
    recorded = 0
    async with pool.acquire() as conn, conn.transaction():
        for hook in hooks:
            delivery_id = uuid.uuid4()
            body = payloads.body(
                hook["format"], payloads.notice(event, str(delivery_id), title, link)
            )
            inserted = await conn.fetchval(
                "INSERT INTO approval.deliveries (id, webhook_id, event_key, event, job_id, body) "
                "VALUES ($1, $2, $3, $4, $5, $6) "
                "ON CONFLICT (webhook_id, event_key) DO NOTHING RETURNING 1",
                delivery_id,
                hook["id"],
                key,
                name,
                job_id,
                body.decode(),
            )
            recorded += inserted or 0
    log.info("deliveries recorded", job_id=event.job_id, webhook_event=name, new=recorded)
    return recorded


@contextmanager
def _span(event: Notifiable, webhooks: int = 0) -> Iterator[None]:
    """The consumer's span, opened for an event that records something (see the module)."""
    attributes: dict[str, str | int] = {"runwright.job.id": event.job_id}
    if webhooks:
        attributes["runwright.webhooks"] = webhooks
    with _tracer.start_as_current_span(
        f"consume {CONSUMER}", kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


async def _job_title(pool: asyncpg.Pool, job_id: uuid.UUID) -> str | None:
    """The job's title from the queue's table (read-only); None where it cannot be read."""
    try:
        title: str | None = await pool.fetchval(
            "SELECT title FROM queue.jobs WHERE id = $1", job_id
        )
    except _TITLE_MISSING:
        return None
    return title
