"""The leases of every job this executor runs, renewed together: one request per period.

One keeper per executor process. Each running job holds a `Lease` (its own ``until``, the
`lease_clock` time by which it has surely not run out); every ``lease_renew_ms`` the keeper
sends one `RenewLeases` naming each held job and its attempt (several requests of at most
``RENEW_BATCH`` jobs for a very large executor, sent together). A granted renewal moves each
named job's ``until`` to the request's send time plus the lease; a job the reply names lost is
lost for its runner alone.

The per-job timing rules are those of a lone renewal (docs/failure-detection.md): a request that
fails (a timeout, NATS reconnecting, no queue replica answering) is tried again after 0.2 s, its
timeout within what is left of the leases it carries; once those may have run out the tries back
off to once a second, and a lease nobody granted for ``lease_patience_s`` after its end is given
up. A job claimed between two periods joins the next one.

A lease outlives its run (`LeaseKeeper.settle`): the run's last reports are acknowledged by the
stream, not yet applied by the queue, and one delivered to a queue replica that died with its NATS
node comes back only after the consumer's ack wait. Until the queue has recorded the job's end (a
renewal answers that the job is no longer active) the executor still answers for the job, so the
reaper does not take a finished run for a lost executor. Found by killing a NATS node under load:
a job whose run had ended was failed as ``executor lost`` while one report waited for its
redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from nats.aio.client import Client
from runwright_bus import request
from runwright_common import metrics
from runwright_common.logging import get_logger
from runwright_proto import streams, subjects
from runwright_proto.commands import RENEW_BATCH, JobLease, RenewLeases, RenewLeasesReply

from runwright_executor.clock import lease_clock

log = get_logger("runwright.executor.leases")

RETRY_PAUSE_S = 0.2
"""After a failed renewal, the next try comes this soon (the lease may be close to its end)."""
OUTAGE_RETRY_MAX_S = 1.0
"""Once the lease may have run out, tries back off up to this far apart."""
JOIN_SHARE = 0.5
"""A renewal also takes along every lease due within this share of a period, so leases that
fell out of step (a retry, a job claimed between periods) rejoin one request."""
SETTLE_S = 2 * streams.QUEUE_REPORTS.ack_wait_s
"""How long a lease is kept after its run ended, at most: twice the time a report whose delivery
was lost takes to come back."""


@dataclass(eq=False)
class Lease:
    """One running job's lease, as its runner sees it."""

    job_id: str
    attempt: int
    until: float
    """`lease_clock` time by which the lease has surely not run out: the last granted claim or
    renewal's send time plus the lease (the queue stamped it later)."""
    due: float = 0.0
    """When its next renewal should be sent."""
    pause_s: float = RETRY_PAUSE_S
    renewed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set at each granted renewal."""
    lost: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    """Done (with why) once the lease is lost: named lost by the queue, or given up."""
    settled_by: float | None = None
    """Once the run ended: `lease_clock` time after which the lease is no longer kept."""

    def lose(self, reason: str) -> None:
        if not self.lost.done():
            self.lost.set_result(reason)


class LeaseKeeper:
    """Renews the leases of all the process's running jobs together."""

    def __init__(
        self,
        nc: Client,
        executor_id: str,
        lease_ms: int,
        renew_ms: int,
        patience_s: float,
        *,
        batch: int = RENEW_BATCH,
    ) -> None:
        self.nc, self.executor_id = nc, executor_id
        self.lease_ms, self.every_s, self.patience_s = lease_ms, renew_ms / 1000, patience_s
        self.batch = batch
        self.held: dict[str, Lease] = {}
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._next = 0.0
        """When the loop means to send the next renewal (while it runs)."""

    def hold(self, job_id: str, attempt: int, claimed_at: float) -> Lease:
        """Keep a claimed job's lease from now on; ``claimed_at``: `lease_clock` when the claim
        was asked for (its lease began later)."""
        lease = Lease(job_id=job_id, attempt=attempt, until=claimed_at + self.lease_ms / 1000)
        lease.due = claimed_at + self.every_s
        if self._task is not None and not self._task.done():  # join the loop's next request
            now = lease_clock()
            upcoming = self._next if self._next > now else self._next + self.every_s
            lease.due = min(lease.due, upcoming)
        self.held[job_id] = lease
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="lease-keeper")
            self._task.add_done_callback(self._ended)
        self._changed.set()
        return lease

    def release(self, lease: Lease) -> None:
        """The job's run ended: renew it no more."""
        if self.held.get(lease.job_id) is lease:
            del self.held[lease.job_id]

    def settle(self, lease: Lease) -> None:
        """The run ended: keep renewing until the queue answers that the job is no longer this
        attempt's to run (it recorded the end), for ``SETTLE_S`` at most. A lease already lost
        is dropped at once."""
        if lease.lost.done():
            self.release(lease)
        elif self.held.get(lease.job_id) is lease:
            lease.settled_by = lease_clock() + SETTLE_S

    async def settled(self, timeout: float) -> None:
        """Return once no lease is kept (every ended run's end recorded), or after ``timeout``."""
        if self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):  # a timeout; a crash was logged by _ended
                await asyncio.wait_for(asyncio.shield(self._task), timeout)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The loop ends when no lease is held; should it crash, every lease it held is lost
        (their runners stop) rather than left to run out unnoticed."""
        if task.cancelled() or (error := task.exception()) is None:
            return
        log.error("lease keeper crashed; its jobs are given up", exc_info=error)
        for lease in list(self.held.values()):
            lease.lose(f"lease keeper crashed: {error!r}")
            self.release(lease)

    async def _run(self) -> None:
        while self.held:
            self._next = min(lease.due for lease in self.held.values())
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.0, self._next - lease_clock()))
                continue  # a lease came or went: look again
            sent = lease_clock()
            due = [  # a copy: a lease given up leaves ``held``
                lease
                for lease in list(self.held.values())
                if lease.due <= sent + self.every_s * JOIN_SHARE and not self._given_up(lease, sent)
            ]
            chunks = [due[i : i + self.batch] for i in range(0, len(due), self.batch)]
            await asyncio.gather(*(self._renew(chunk) for chunk in chunks))

    def _given_up(self, lease: Lease, now: float) -> bool:
        if lease.settled_by is not None and now > lease.settled_by:
            self.release(lease)  # the run ended long ago; the reaper decides from here
            return True
        if now - lease.until <= self.patience_s:
            return False
        lease.lose(f"no renewal granted for {self.patience_s:g} s after the lease ended")
        self.release(lease)
        return True

    async def _renew(self, chunk: list[Lease]) -> bool:
        """One request for ``chunk``: each lease granted moves on, each named lost is lost, and
        on a failed try all of them are tried again shortly. False when the request failed."""
        sent = lease_clock()
        left = min(lease.until for lease in chunk) - sent
        try:
            reply: RenewLeasesReply = await request(
                self.nc,
                subjects.RENEW_LEASES,
                RenewLeases(
                    executor_id=self.executor_id,
                    lease_ms=self.lease_ms,
                    jobs=[JobLease(job_id=lease.job_id, attempt=lease.attempt) for lease in chunk],
                ),
                RenewLeasesReply,
                timeout=min(self.every_s, left) if left > RETRY_PAUSE_S else self.every_s,
            )
        except Exception as exc:
            log.info(
                "leases not renewed; trying again",
                error=repr(exc),
                jobs=len(chunk),
                left_s=round(left, 2),
            )
            now = lease_clock()
            for lease in chunk:
                if lease.until <= sent:  # an outage: try on, less often
                    lease.pause_s = min(OUTAGE_RETRY_MAX_S, lease.pause_s * 2)
                    lease.due = now + lease.pause_s
                else:
                    lease.due = now + RETRY_PAUSE_S
            return False
        lost = {item.job_id: item.reason for item in reply.lost}
        until = sent + self.lease_ms / 1000
        for lease in chunk:
            if lease.job_id in lost:
                lease.lose(lost[lease.job_id])
                self.release(lease)
                continue
            metrics.lease_renewed(sent - lease.due)
            lease.until, lease.due, lease.pause_s = until, sent + self.every_s, RETRY_PAUSE_S
            lease.renewed.set()
        return True
