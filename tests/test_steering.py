"""The executor's steering on a real nats-server, the queue's side played by a responder on
``runwright.queue.state``: a paused job stays paused when the queue's answer to "what now?" was
read before a resume and a pause that arrived while it was on its way."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from nats.aio.client import Client
from nats.aio.msg import Msg
from runwright_executor.steering import Steering
from runwright_proto import subjects
from runwright_proto.control import Control, JobState, JobStateReply
from runwright_proto.reports import Report

JOB = "00000000-0000-4000-8000-000000000001"


async def no_report(report: Report) -> None:
    raise AssertionError(f"nothing to report here: {report}")


async def test_a_poll_answered_across_a_resume_and_a_pause_does_not_resume_the_job(
    nats_client: Client,
) -> None:
    asked = asyncio.Event()

    async def queue(msg: Msg) -> None:
        msgspec.json.decode(msg.data, type=JobState)
        asked.set()
        # The queue reads "running" (between the resume and the pause), and its answer is slow.
        await asyncio.sleep(0.3)
        await msg.respond(msgspec.json.encode(JobStateReply(status="running", attempt=1)))

    async def steer(command: str) -> None:
        control = Control(job_id=JOB, attempt=1, command=command, actor="someone")  # type: ignore[arg-type]
        await nats_client.publish(subjects.control(JOB), msgspec.json.encode(control))
        await nats_client.flush()

    await nats_client.subscribe(subjects.STATE, cb=queue)
    steering = Steering(
        nats_client, JOB, 1, on_cancel=lambda: None, report=no_report, approval_timeout_s=None
    )
    await steering.start()
    try:
        await steer("pause")
        await asyncio.sleep(0.1)
        assert not steering.running.is_set()
        waiting = asyncio.create_task(steering.wait_while_paused())
        await asyncio.wait_for(asked.wait(), 5)
        await steer("resume")
        await steer("pause")
        await asyncio.sleep(1.0)  # the slow answer has come
        assert not waiting.done(), "the job went on although its last command was pause"
        assert not steering.running.is_set()
        await steer("resume")
        await asyncio.wait_for(waiting, 5)
    finally:
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
        await steering.stop()
