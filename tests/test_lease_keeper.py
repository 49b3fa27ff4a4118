"""The executor's lease keeper on a real nats-server, the queue's side played by a responder on
``runwright.queue.renew_leases``: all held jobs in one request a period, chunks of at most the
batch size, a job named lost stops alone, leases nobody renews are given up after the
patience (while the others the keeper holds go on), and a lease outlives its run until the queue
has recorded the end."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from runwright_executor import leases
from runwright_executor.clock import lease_clock
from runwright_executor.leases import Lease, LeaseKeeper
from runwright_proto import subjects
from runwright_proto.commands import LostLease, RenewLeases, RenewLeasesReply


class Queue:
    """Answers renewals: every job granted except those in ``lost``; ``silent`` jobs make the
    whole request go unanswered (the queue cannot reach them)."""

    def __init__(self) -> None:
        self.requests: list[RenewLeases] = []
        self.lost: set[str] = set()
        self.silent: set[str] = set()

    async def answer(self, msg: Msg) -> None:
        asked = msgspec.json.decode(msg.data, type=RenewLeases)
        self.requests.append(asked)
        if any(job.job_id in self.silent for job in asked.jobs):
            return
        lost = [
            LostLease(job_id=j.job_id, reason="gone") for j in asked.jobs if j.job_id in self.lost
        ]
        await msg.respond(msgspec.json.encode(RenewLeasesReply(lost=lost)))


async def test_held_jobs_are_renewed_together_in_chunks_and_a_lost_one_stops_alone(
    nats_client: Client,
) -> None:
    queue = Queue()
    await nats_client.subscribe(subjects.RENEW_LEASES, cb=queue.answer)
    keeper = LeaseKeeper(nats_client, "ex", lease_ms=900, renew_ms=300, patience_s=60, batch=4)
    held = [keeper.hold(f"job-{i}", 1, lease_clock()) for i in range(10)]
    await asyncio.sleep(1.0)
    assert len(queue.requests) >= 6
    assert max(len(r.jobs) for r in queue.requests) == 4
    assert all(lease.until > lease_clock() for lease in held), "every lease kept"
    periods = len(queue.requests) / 3  # 10 jobs in chunks of 4: three requests a period
    assert 2 <= periods <= 5
    queue.lost.add("job-3")
    assert await asyncio.wait_for(held[3].lost, 2) == "gone"
    assert "job-3" not in keeper.held
    assert not any(lease.lost.done() for i, lease in enumerate(held) if i != 3)
    for lease in held:
        keeper.release(lease)


async def test_a_lease_nobody_renews_is_given_up_after_the_patience_and_the_rest_go_on(
    nats_client: Client,
) -> None:
    queue = Queue()
    await nats_client.subscribe(subjects.RENEW_LEASES, cb=queue.answer)
    keeper = LeaseKeeper(nats_client, "ex", lease_ms=300, renew_ms=100, patience_s=0.3, batch=1)
    alone = keeper.hold("cut-off", 1, lease_clock())
    queue.silent.add("cut-off")
    kept = keeper.hold("fine", 1, lease_clock())
    reason = await asyncio.wait_for(alone.lost, 5)
    assert reason == "no renewal granted for 0.3 s after the lease ended"
    await asyncio.sleep(0.5)
    assert not kept.lost.done(), "the keeper outlived the lease it gave up"
    assert kept.until > lease_clock()
    keeper.release(kept)


async def ended_run(nats_client: Client, job_id: str) -> tuple[Queue, LeaseKeeper, Lease]:
    """A keeper whose one job's run has ended (its lease settling), and the stand-in queue."""
    queue = Queue()
    await nats_client.subscribe(subjects.RENEW_LEASES, cb=queue.answer)
    keeper = LeaseKeeper(nats_client, "ex", lease_ms=300, renew_ms=100, patience_s=60)
    lease = keeper.hold(job_id, 1, lease_clock())
    keeper.settle(lease)
    return queue, keeper, lease


async def test_a_run_that_ended_keeps_its_lease_until_the_queue_has_recorded_the_end(
    nats_client: Client,
) -> None:
    """The run's last reports may still be on their way to the queue (one delivered to a replica
    that died comes back only after the consumer's ack wait): the lease is renewed until the queue
    answers that the job is no longer active, so the reaper does not fail a finished run as
    ``executor lost``."""
    queue, keeper, lease = await ended_run(nats_client, "ended")
    asked = len(queue.requests)
    await asyncio.sleep(0.5)
    assert len(queue.requests) >= asked + 3, "renewed after its run ended"
    assert "ended" in keeper.held
    assert lease.until > lease_clock()
    queue.lost.add("ended")  # the queue applied the last report: the job is completed
    await asyncio.wait_for(lease.lost, 2)
    assert "ended" not in keeper.held
    renewals = len(queue.requests)
    await asyncio.sleep(0.3)
    assert len(queue.requests) == renewals, "no renewal once the queue recorded the end"


async def test_a_settled_lease_is_kept_no_longer_than_the_settle_time(
    nats_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(leases, "SETTLE_S", 0.3)
    queue, keeper, _ = await ended_run(nats_client, "stuck")
    await asyncio.sleep(0.8)
    assert "stuck" not in keeper.held, "the reaper decides once the settle time is over"
    renewals = len(queue.requests)
    await asyncio.sleep(0.3)
    assert len(queue.requests) == renewals


async def test_a_lost_lease_is_not_kept_after_its_run(nats_client: Client) -> None:
    queue = Queue()
    await nats_client.subscribe(subjects.RENEW_LEASES, cb=queue.answer)
    keeper = LeaseKeeper(nats_client, "ex", lease_ms=300, renew_ms=100, patience_s=60)
    lease = keeper.hold("taken", 1, lease_clock())
    lease.lose("another attempt holds it")
    keeper.settle(lease)
    assert "taken" not in keeper.held


async def test_settled_returns_once_the_queue_recorded_every_end(nats_client: Client) -> None:
    """What a draining executor waits for (within its grace) before it exits."""
    queue, keeper, _ = await ended_run(nats_client, "draining")
    await keeper.settled(0.3)
    assert "draining" in keeper.held, "kept while the queue has not recorded the end"
    queue.lost.add("draining")
    await keeper.settled(2)
    assert not keeper.held
