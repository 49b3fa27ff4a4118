"""Least privilege on the bus: nats-server itself refuses what a service's user may not do.

The executor, which runs untrusted pages, may pull dispatch, receive control and watch notices,
publish reports, frames and staged files and ask the queue to claim, renew and tell it the
state; everything else (submitting jobs, publishing events, taking apart streams, reading other
services' replies) is refused by the server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoServersError
from runwright_proto import subjects
from runwright_proto.permissions import ALL, inbox_prefix
from runwright_stack.stack import Stack

pytestmark = pytest.mark.e2e


class Signed:
    """A client signed in as one service, keeping the errors the server sends it."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.nc: Client | None = None

    async def open(self, stack: Stack, user: str, password: str | None = None) -> Client:
        async def on_error(exc: Exception) -> None:
            self.errors.append(str(exc).lower())

        self.nc = await nats.connect(
            stack.nats.address,
            user=user,
            password=password if password is not None else stack.nats.passwords[user],
            inbox_prefix=inbox_prefix(user),
            error_cb=on_error,
            allow_reconnect=False,
            connect_timeout=5,
        )
        return self.nc

    async def refused(self, what: str) -> bool:
        assert self.nc is not None
        await self.nc.flush()
        for _ in range(40):
            if any(what.lower() in e for e in self.errors):
                return True
            await asyncio.sleep(0.05)
        return False


@pytest_asyncio.fixture
async def executor(stack: Stack) -> AsyncIterator[Signed]:
    signed = Signed()
    await signed.open(stack, "executor")
    yield signed
    assert signed.nc is not None
    await signed.nc.close()


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.parametrize(
    "subject",
    [
        subjects.SUBMIT,
        subjects.ACTION,
        subjects.events("default", "00000000-0000-0000-0000-000000000001"),
        subjects.DISPATCH,
        subjects.control("00000000-0000-0000-0000-000000000001"),
        subjects.artifact_stored("00000000-0000-0000-0000-000000000001"),
        "$JS.API.STREAM.DELETE.DISPATCH",
        "$JS.API.STREAM.PURGE.REPORTS",
        "$JS.API.CONSUMER.DELETE.DISPATCH.executors",
        "$JS.API.STREAM.CREATE.EXFILTRATE",
        "$JS.API.STREAM.MSG.GET.EVENTS",
    ],
)
async def test_an_executor_may_not_publish_outside_its_channels(
    executor: Signed, subject: str
) -> None:
    assert executor.nc is not None
    await executor.nc.publish(subject, b"{}")
    assert await executor.refused(f'permissions violation for publish to "{subject}"')


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.parametrize(
    "subject",
    [
        subjects.EVENTS,
        subjects.REPORTS,
        f"{inbox_prefix('gateway')}.>",
        "_INBOX.>",
        ">",
        subjects.SUBMIT,
        subjects.health("queue"),
    ],
)
async def test_an_executor_may_not_listen_outside_its_channels(
    executor: Signed, subject: str
) -> None:
    assert executor.nc is not None
    await executor.nc.subscribe(subject)
    assert await executor.refused(f'permissions violation for subscription to "{subject}"')


@pytest.mark.asyncio(loop_scope="function")
async def test_an_executor_may_do_what_its_work_needs(executor: Signed) -> None:
    nc = executor.nc
    assert nc is not None
    job = "00000000-0000-0000-0000-0000000000aa"
    await nc.subscribe(subjects.control(job))
    await nc.subscribe(subjects.live_watch(job))
    await nc.publish(subjects.live_frames(job), b"")
    info = await nc.jetstream().consumer_info("DISPATCH", "executors")
    assert info.name == "executors"
    await nc.flush()
    await asyncio.sleep(0.3)
    assert executor.errors == []


@pytest.mark.asyncio(loop_scope="function")
async def test_the_gateway_may_not_pull_dispatch_or_steer_an_executor(stack: Stack) -> None:
    gateway = Signed()
    nc = await gateway.open(stack, "gateway")
    try:
        await nc.publish("$JS.API.CONSUMER.MSG.NEXT.DISPATCH.executors", b"")
        assert await gateway.refused('publish to "$js.api.consumer.msg.next.dispatch.executors"')
        await nc.publish(subjects.control("00000000-0000-0000-0000-000000000001"), b"")
        assert await gateway.refused('publish to "runwright.control.')
    finally:
        await nc.close()


@pytest.mark.asyncio(loop_scope="function")
@pytest.mark.parametrize(("user", "password"), [("executor", "not-its-password"), ("", "")])
async def test_nats_refuses_a_client_without_valid_credentials(
    stack: Stack, user: str, password: str
) -> None:
    connecting = nats.connect(
        stack.nats.address,
        user=user or None,
        password=password or None,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=3,
    )
    with pytest.raises((NatsError, NoServersError, OSError)):
        await connecting


def test_the_executor_holds_no_stream_administration() -> None:
    granted = ALL["executor"].publish
    assert not [s for s in granted if ".STREAM.CREATE." in s or ".STREAM.DELETE." in s]
    assert not [s for s in granted if s.startswith("runwright.events") or "submit" in s]
    assert set(ALL["executor"].subscribe) == {
        f"{inbox_prefix('executor')}.>",
        subjects.health("executor"),
        subjects.CONTROL,
        subjects.LIVE_WATCH,
    }
