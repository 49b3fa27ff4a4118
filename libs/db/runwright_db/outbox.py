"""Transactional outbox: write the message with the state change, publish after commit.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` so several replicas can relay; each is published
with its outbox id as ``Nats-Msg-Id``, so a relay that crashes after publishing but before deleting
causes no duplicate within the stream's duplicate window.

Each row keeps the W3C trace context (and baggage) of the change that wrote it, in ``headers``, and
is published with it: the consumer's span is a child of the span that made the change, not of the
relay's sweep, so a job's trace stays one tree across the outbox. ``enqueue`` takes the current
context unless it is given one; rows written by SQL functions take it from the transaction's
``runwright.trace_headers`` setting (the column's default; the queue's claim sets it to the
claimed job's context).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import asyncpg
from nats.js import JetStreamContext
from runwright_common import metrics
from runwright_common.logging import get_logger
from runwright_common.tracing import current_carrier

log = get_logger("runwright.outbox")

Carrier = dict[str, str]
"""W3C trace context headers (``traceparent``, ``tracestate``, ``baggage``)."""


def _stored(carrier: Carrier | None) -> Carrier | None:
    """What the ``headers`` column keeps (the pool's codec writes it as JSON)."""
    carrier = current_carrier() if carrier is None else carrier
    return carrier or None


async def enqueue(
    conn: asyncpg.Connection,
    table: str,
    subject: str,
    payload: bytes,
    *,
    trace: Carrier | None = None,
) -> None:
    """Put a message in ``table`` with the trace context ``trace`` (default: the current one)."""
    await conn.execute(
        f"INSERT INTO {table} (subject, payload, headers) VALUES ($1, $2, $3)",
        subject,
        payload,
        _stored(trace),
    )


async def enqueue_many(
    conn: asyncpg.Connection,
    table: str,
    messages: list[tuple[str, bytes]],
    *,
    traces: Sequence[Carrier | None] | None = None,
) -> None:
    """Several messages, in the order given (their ids rise in that order); ``traces`` gives
    each its trace context (default: the current one for all)."""
    if not messages:
        return
    if traces is None:
        stored = _stored(None)
        rows = [(subject, payload, stored) for subject, payload in messages]
    else:
        rows = [
            (subject, payload, _stored(carrier))
            for (subject, payload), carrier in zip(messages, traces, strict=True)
        ]
    await conn.executemany(
        f"INSERT INTO {table} (subject, payload, headers) VALUES ($1, $2, $3)", rows
    )


def _headers(stored: Carrier | None, msg_id: str) -> dict[str, str]:
    return {**(stored or {}), "Nats-Msg-Id": msg_id}


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        js: JetStreamContext,
        table: str,
        *,
        sweep_s: float = 1.0,
        batch: int = 200,
    ) -> None:
        self._pool, self._js, self._table = pool, js, table
        self._sweep_s, self._batch = sweep_s, batch
        self._wake = asyncio.Event()
        self._id_prefix = table.replace(".", "-")

    def kick(self) -> None:
        """Something was committed: publish it now rather than at the next sweep."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                while await self.relay_once() == self._batch:
                    pass
            except Exception as exc:
                log.warning("outbox relay failed; will retry", error=str(exc))
                await asyncio.sleep(0.5)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sweep_s)
        await self.relay_once()

    async def relay_once(self) -> int:
        async with self._pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(
                f"SELECT id, subject, payload, headers FROM {self._table} "
                "ORDER BY id "
                "LIMIT $1 FOR UPDATE SKIP LOCKED",
                self._batch,
            )
            if not rows:
                return 0
            acks = [
                await self._js.publish_async(
                    row["subject"],
                    bytes(row["payload"]),
                    headers=_headers(row["headers"], f"{self._id_prefix}-{row['id']}"),
                )
                for row in rows
            ]
            await asyncio.wait_for(asyncio.gather(*acks), 10)
            await conn.execute(
                f"DELETE FROM {self._table} WHERE id = ANY($1::bigint[])",
                [row["id"] for row in rows],
            )
            return len(rows)

    async def measure(self) -> None:
        """Set the backlog metrics (rows not yet published, the oldest's age); a scrape calls it
        (``metrics.on_scrape(relay.measure)``)."""
        row = await self._pool.fetchrow(
            f"SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age "
            f"FROM {self._table}"
        )
        metrics.outbox_measured(self._table, row["n"], float(row["age"] or 0))
