"""The executor's lease keeper on a real nats-server, the queue's side played by a responder on
``runwright.queue.renew_leases``: all held jobs in one request a period, chunks of at most the
batch size, a job named lost stops alone, and leases nobody renews are given up after the
patience (while the others the keeper holds go on)."""

from __future__ import annotations

import asyncio

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from runwright_executor.clock import lease_clock
from runwright_executor.leases import LeaseKeeper
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
