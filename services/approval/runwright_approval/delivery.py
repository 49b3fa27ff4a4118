"""Sending recorded deliveries: claim due rows, POST them signed, record every attempt, back off.

A delivery is claimed by bumping its ``attempt`` and pushing ``next_attempt_at`` past the send
timeout (``FOR UPDATE SKIP LOCKED``, so replicas share the work). A worker that dies mid-send
leaves it due again when that lease runs out; nothing is lost, a receiver may see it twice and
deduplicates on ``X-Runwright-Delivery``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from dataclasses import dataclass

import asyncpg
import httpx
from runwright_common import metrics
from runwright_common.logging import get_logger

from runwright_approval.receivers import url_problem
from runwright_approval.signing import signed_headers

OUTCOMES = {"delivered": "delivered", "gave_up": "failed", "failed": "retrying"}
"""A recorded attempt's status → the metrics' outcome (``failed``: no more attempts)."""

log = get_logger("runwright.approval.delivery")
SNIPPET = 200

_CLAIM = """
WITH due AS (
    SELECT d.id FROM approval.deliveries d
    JOIN approval.webhooks w ON w.id = d.webhook_id
    WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= now() AND w.active
    ORDER BY d.next_attempt_at
    LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE approval.deliveries d
SET attempt = d.attempt + 1, next_attempt_at = now() + make_interval(secs => $2)
FROM due, approval.webhooks w
WHERE d.id = due.id AND w.id = d.webhook_id
RETURNING d.id, d.attempt, d.event, d.body, w.url, w.secret
"""


@dataclass(frozen=True)
class RetryPolicy:
    base_s: float = 1.0
    cap_s: float = 300.0
    max_attempts: int = 8

    def delay_s(self, attempt: int) -> float:
        """The wait after failed attempt ``attempt`` (from 1): base, 2 x base, 4 x base … capped."""
        return float(min(self.base_s * 2 ** (attempt - 1), self.cap_s))


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    attempt: int
    event: str
    body: str
    url: str
    secret: str


@dataclass(frozen=True)
class Outcome:
    response_code: int | None
    error: str | None
    duration_ms: int
    final: bool = False
    """Retrying cannot help (the URL is no longer allowed)."""

    @property
    def delivered(self) -> bool:
        return self.error is None


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: httpx.AsyncClient,
        policy: RetryPolicy,
        *,
        timeout_s: float = 10.0,
        concurrency: int = 16,
        sweep_s: float = 1.0,
        allowed_hosts: list[str] | None = None,
    ) -> None:
        self._pool, self._client, self._policy = pool, client, policy
        self._timeout_s, self._concurrency, self._sweep_s = timeout_s, concurrency, sweep_s
        self._allowed_hosts = allowed_hosts or []
        self._wake = asyncio.Event()
        self._inflight: set[asyncio.Task[None]] = set()

    def kick(self) -> None:
        """Deliveries were recorded: send them now rather than at the next sweep."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: claim due deliveries and send them; then finish those in flight."""
        while not stop.is_set():
            self._wake.clear()
            try:
                self._spawn(await self.claim(self._concurrency - len(self._inflight)))
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("could not claim deliveries; will retry", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._sweep_s)
        if self._inflight:
            await asyncio.wait(self._inflight)

    async def sweep_once(self) -> int:
        """Claim what is due and send it, waiting for the sends. Returns how many were sent."""
        claimed = await self.claim(self._concurrency)
        await asyncio.gather(*(self.send(c) for c in claimed))
        return len(claimed)

    async def claim(self, limit: int) -> list[Claimed]:
        if limit <= 0:
            return []
        lease_s = self._timeout_s + 20
        rows = await self._pool.fetch(_CLAIM, limit, lease_s)
        return [Claimed(**dict(row)) for row in rows]

    def _spawn(self, claimed: list[Claimed]) -> None:
        for delivery in claimed:
            task = asyncio.create_task(self.send(delivery))
            self._inflight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._inflight.discard(task)
        self._wake.set()  # a free slot: take the next due delivery

    async def send(self, delivery: Claimed) -> None:
        """One attempt, recorded. A failure to record leaves the claim to expire: sent again."""
        try:
            await self.record(delivery, await self.attempt(delivery))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("could not record an attempt; it is resent later", error=str(exc))
        except Exception:
            log.exception("delivery crashed; it is resent later", delivery_id=str(delivery.id))

    async def attempt(self, delivery: Claimed) -> Outcome:
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        problem = url_problem(delivery.url, self._allowed_hosts)
        if problem:
            return Outcome(None, problem, 0, final=True)
        body = delivery.body.encode()
        headers = signed_headers(
            delivery.secret,
            str(int(time.time())),
            body,
            delivery_id=str(delivery.id),
            event=delivery.event,
        )
        try:
            async with self._client.stream(
                "POST", delivery.url, content=body, headers=headers, timeout=self._timeout_s
            ) as response:
                code = response.status_code
                if 200 <= code < 300:
                    return Outcome(code, None, elapsed())
                return Outcome(code, f"HTTP {code}{await _snippet(response)}", elapsed())
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}".rstrip(": "), elapsed())

    async def record(self, delivery: Claimed, outcome: Outcome) -> None:
        give_up = outcome.final or delivery.attempt >= self._policy.max_attempts
        status = "delivered" if outcome.delivered else "gave_up" if give_up else "failed"
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "INSERT INTO approval.delivery_attempts "
                "(delivery_id, attempt, response_code, error, duration_ms) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                delivery.id,
                delivery.attempt,
                outcome.response_code,
                outcome.error,
                outcome.duration_ms,
            )
            await conn.execute(
                "UPDATE approval.deliveries SET status = $3, response_code = $4, error = $5, "
                "delivered_at = CASE WHEN $3 = 'delivered' THEN now() END, "
                "next_attempt_at = now() + make_interval(secs => $6) "
                "WHERE id = $1 AND attempt = $2",
                delivery.id,
                delivery.attempt,
                status,
                outcome.response_code,
                outcome.error,
                self._policy.delay_s(delivery.attempt),
            )
        metrics.webhook_delivery(OUTCOMES[status])
        log.info(
            "delivery attempted",
            delivery_id=str(delivery.id),
            webhook_event=delivery.event,
            attempt=delivery.attempt,
            status=status,
            response_code=outcome.response_code,
            error=outcome.error,
            ms=outcome.duration_ms,
        )


async def _snippet(response: httpx.Response) -> str:
    """The start of a refused delivery's response body, for whoever reads the attempts."""
    async for chunk in response.aiter_bytes():
        text = chunk[:SNIPPET].decode(errors="replace").strip()
        return f": {text}" if text else ""
    return ""
