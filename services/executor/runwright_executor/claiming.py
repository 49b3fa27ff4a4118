"""Claiming the job a dispatch woke us for: one claim, asked again under the same id when its
answer does not come, within a bound well inside the lease.

A claim's reply can be lost after the queue granted it (a NATS node dies between the two). The
claim carries a ``claim_id`` of its own; the queue answers a try whose id it already granted to
this executor with that same grant, so asking again is safe, and the job is run instead of sitting
``running`` under an executor that never heard of it until its lease runs out.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from nats.aio.client import Client
from runwright_bus import request
from runwright_common.errors import RetryableError
from runwright_common.logging import get_logger
from runwright_proto import subjects
from runwright_proto.commands import ClaimJob, ClaimReply

from runwright_executor.runner import lease_clock

log = get_logger("runwright.executor.claiming")

WINDOW_SHARE = 0.5
"""All tries of one claim end within this share of the lease (3 s of the default 6 s): a grant
whose every reply was lost still leaves the executor's lease long before the reaper's sweep."""
TRIES_PER_WINDOW = 3
"""Each try waits at most the window divided by this (1 s at the default lease; a claim takes
tens of milliseconds, 0.2 s at p99 on a saturated queue: docs/capacity.md)."""
FIRST_PAUSE_S = 0.1
"""Between tries: 0.1 s, then twice as long each time (an unanswered try has waited already)."""


@dataclass(frozen=True)
class Claimed:
    reply: ClaimReply
    asked: float
    """`lease_clock` when the answered try was sent: the lease the queue stamped (or extended,
    for a grant given again) began later."""
    tries: int


async def claim(nc: Client, job_id: str, executor_id: str, lease_ms: int) -> Claimed:
    """Ask the queue for a job; on a timeout or a retryable error ask again with the same
    ``claim_id``. Raises the last `RetryableError` once the window has passed."""
    cmd = ClaimJob(
        job_id=job_id, executor_id=executor_id, lease_ms=lease_ms, claim_id=str(uuid.uuid4())
    )
    window_s = lease_ms / 1000 * WINDOW_SHARE
    give_up = lease_clock() + window_s
    pause = FIRST_PAUSE_S
    tries = 0
    while True:
        sent = lease_clock()
        tries += 1
        try:
            reply: ClaimReply = await request(
                nc,
                subjects.CLAIM,
                cmd,
                ClaimReply,
                timeout=min(window_s / TRIES_PER_WINDOW, give_up - sent),
            )
        except RetryableError as exc:
            if lease_clock() + pause >= give_up:
                raise
            log.info(
                "claim not answered; asking again",
                claim_id=cmd.claim_id,
                tries=tries,
                error=str(exc),
            )
            await asyncio.sleep(pause)
            pause *= 2
            continue
        if tries > 1:
            log.info(
                "claim answered on a later try",
                claim_id=cmd.claim_id,
                tries=tries,
                granted=reply.granted,
                job_id=reply.job_id,
            )
        return Claimed(reply=reply, asked=sent, tries=tries)
