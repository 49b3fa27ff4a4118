"""Outbound webhooks: job events become signed deliveries, retried until accepted, sent once.

These drive the approval service's own handlers against a private database on the real
PostgreSQL and a real HTTP receiver on loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

import asyncpg
import httpx
import msgspec
import pytest
from nats.aio.msg import Msg
from opentelemetry.trace import SpanKind
from runwright_approval import notify, subscriptions
from runwright_approval.delivery import Dispatcher, RetryPolicy
from runwright_approval.settings import ApprovalSettings
from runwright_common.errors import SettingsError
from runwright_common.settings import load
from runwright_proto.commands import StepSpec, SubmitJob
from runwright_proto.events import ApprovalEvent, StatusEvent, StepEvent
from runwright_proto.webhooks import CreateWebhook, DeleteWebhook, WebhookCreated
from runwright_queue import submission
from runwright_queue.sealing import transient
from runwright_runbook import parse_runbook
from runwright_stack.stack import Stack
from support.database import private_database
from support.runbooks import runbook
from support.spans import spans_of

KEYS = transient()
"""The keyring the queue service would hold (one per test process)."""

pytestmark = pytest.mark.e2e

FAST = RetryPolicy(base_s=0.05, cap_s=0.2, max_attempts=8)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver on loopback: records each request and answers the scripted status
    codes in turn, then 200."""

    def __init__(self, answers: list[int] | None = None) -> None:
        self.requests: list[Received] = []
        self.answers = list(answers or [])
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._changed:
                    code = receiver.answers.pop(0) if receiver.answers else 200
                    receiver.requests.append(Received(self.path, headers, body, time.monotonic()))
                    receiver._changed.notify_all()
                reply = b"ok" if code < 300 else b"receiver is down"
                self.send_response(code)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(
        self,
        count: int,
        timeout: float = 15,
        match: Callable[[Received], bool] = lambda _: True,
    ) -> list[Received]:
        """The first ``count`` requests ``match`` accepts, once they arrived."""
        with self._changed:
            done = self._changed.wait_for(
                lambda: len([r for r in self.requests if match(r)]) >= count, timeout
            )
            matching = [r for r in self.requests if match(r)]
        assert done, f"expected {count} webhook calls within {timeout}s, got {len(matching)}"
        return matching[:count]


def signature_is_valid(secret: str, call: Received) -> bool:
    signed = call.headers["x-runwright-timestamp"].encode() + b"." + call.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, call.headers["x-runwright-signature"])


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", "approval", max_size=10) as db:
        yield db


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started


@asynccontextmanager
async def dispatching(pool: asyncpg.Pool, policy: RetryPolicy = FAST) -> AsyncIterator[Dispatcher]:
    stop = asyncio.Event()
    async with httpx.AsyncClient() as client:
        dispatcher = Dispatcher(pool, client, policy, timeout_s=5, sweep_s=0.05)
        task = asyncio.create_task(dispatcher.run(stop))
        try:
            yield dispatcher
        finally:
            stop.set()
            await task


@contextmanager
def closed_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    yield port


async def subscribe(pool: asyncpg.Pool, url: str, *events: str, **options: Any) -> WebhookCreated:
    chosen: Any = list(events or ["job.finished"])
    cmd = CreateWebhook(url=url, events=chosen, **options)
    created = await subscriptions.create_webhook(pool, cmd, [])
    assert isinstance(created, WebhookCreated)
    return created


def finished(job_id: str, status: str = "completed", seq: int = 9, **extra: Any) -> StatusEvent:
    return StatusEvent(
        job_id=job_id, seq=seq, at=datetime.now(UTC), status=status, previous="running", **extra
    )


def approval(job_id: str, state: str = "requested", seq: int = 4) -> ApprovalEvent:
    return ApprovalEvent(
        job_id=job_id,
        seq=seq,
        at=datetime.now(UTC),
        approval_id="ap-1",
        ordinal=2,
        state=state,  # type: ignore[arg-type]
        description="Pay the invoice",
        risk_level="high",
        deadline=datetime.now(UTC) + timedelta(minutes=5),
    )


async def delivery_in(pool: asyncpg.Pool, status: str, timeout: float = 10) -> asyncpg.Record:
    deadline = time.monotonic() + timeout
    while True:
        row = await pool.fetchrow("SELECT * FROM approval.deliveries")
        if row is not None and row["status"] == status:
            return row
        assert time.monotonic() < deadline, f"delivery not {status} in {timeout}s: {row}"
        await asyncio.sleep(0.02)


async def attempts(pool: asyncpg.Pool) -> list[tuple[int, int | None, str | None]]:
    rows = await pool.fetch(
        "SELECT attempt, response_code, error FROM approval.delivery_attempts ORDER BY attempt"
    )
    return [(r["attempt"], r["response_code"], r["error"]) for r in rows]


async def submitted_job(pool: asyncpg.Pool, title: str) -> str:
    parsed = parse_runbook(
        runbook([{"action": {"type": "wait", "duration": 1}}], start_url="about:blank")
    )
    job_id = str(uuid.uuid4())
    steps = [StepSpec(ordinal=0, description="d", action_type="wait")]
    await submission.submit(
        pool, SubmitJob(job_id=job_id, title=title, runbook=parsed, steps=steps), keys=KEYS
    )
    return job_id


async def test_a_finished_job_is_posted_signed_with_the_secret_shown_at_creation(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    hook = await subscribe(pool, receiver.url())
    assert hook.secret.startswith("whsec_")
    job_id = await submitted_job(pool, "Nightly export")
    assert await notify.record(pool, finished(job_id)) == 1
    async with dispatching(pool):
        [call] = await asyncio.to_thread(receiver.wait_for, 1)
        row = await delivery_in(pool, "delivered")
    assert signature_is_valid(hook.secret, call)
    assert not signature_is_valid("whsec_someone-else", call)
    assert abs(int(call.headers["x-runwright-timestamp"]) - time.time()) < 60
    assert call.headers["content-type"] == "application/json"
    assert call.headers["x-runwright-event"] == "job.finished"
    body = call.json()
    assert call.headers["x-runwright-delivery"] == body["delivery_id"] == str(row["id"])
    assert body["event"] == "job.finished"
    assert (body["job_id"], body["status"], body["title"]) == (
        job_id,
        "completed",
        "Nightly export",
    )
    assert body["link"] == f"/jobs/{job_id}"
    assert datetime.fromisoformat(body["at"]).tzinfo is not None
    assert (row["attempt"], row["response_code"], row["event_key"]) == (1, 200, f"{job_id}:9")
    assert row["delivered_at"] is not None
    assert await attempts(pool) == [(1, 200, None)]


async def test_a_receiver_answering_500_is_retried_with_backoff_and_every_attempt_is_recorded(
    pool: asyncpg.Pool,
) -> None:
    with Receiver(answers=[500, 503]) as receiver:
        hook = await subscribe(pool, receiver.url())
        await notify.record(pool, finished(str(uuid.uuid4()), "failed", reason="boom"))
        policy = RetryPolicy(base_s=0.2, cap_s=5, max_attempts=8)
        async with dispatching(pool, policy):
            calls = await asyncio.to_thread(receiver.wait_for, 3)
            row = await delivery_in(pool, "delivered")
    assert [c.body for c in calls] == [calls[0].body] * 3
    assert len({c.headers["x-runwright-delivery"] for c in calls}) == 1
    assert all(signature_is_valid(hook.secret, c) for c in calls)
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert gaps[0] >= 0.2 * 0.9, "the first retry waits the base delay"
    assert gaps[1] >= 0.4 * 0.9, "the second waits twice as long"
    assert (row["attempt"], row["response_code"], row["error"]) == (3, 200, None)
    assert await attempts(pool) == [
        (1, 500, "HTTP 500: receiver is down"),
        (2, 503, "HTTP 503: receiver is down"),
        (3, 200, None),
    ]


async def test_the_same_event_seen_twice_notifies_once(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await subscribe(pool, receiver.url())
    event = finished(str(uuid.uuid4()))
    counts = await asyncio.gather(*(notify.record(pool, event) for _ in range(5)))
    assert sorted(counts) == [0, 0, 0, 0, 1]
    async with httpx.AsyncClient() as client:
        dispatcher = Dispatcher(pool, client, FAST)
        assert await dispatcher.sweep_once() == 1
        assert await notify.record(pool, event) == 0
        assert await dispatcher.sweep_once() == 0
    assert len(receiver.requests) == 1


async def test_a_slack_webhook_gets_one_readable_line_with_title_status_and_link(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await subscribe(pool, receiver.url(), format="slack")
    job_id = await submitted_job(pool, "Export <orders> & invoices")
    await notify.record(pool, finished(job_id, "failed", reason="Element not found"))
    async with httpx.AsyncClient() as client:
        assert await Dispatcher(pool, client, FAST).sweep_once() == 1
    [call] = receiver.requests
    assert call.json() == {
        "text": "Runwright: “Export &lt;orders&gt; &amp; invoices” "
        f"(/jobs/{job_id}) failed: Element not found."
    }
    await subscribe(pool, receiver.url(), "approval.requested", format="slack")
    await notify.record(pool, approval(job_id), "https://runwright.example.com/")
    async with httpx.AsyncClient() as client:
        assert await Dispatcher(pool, client, FAST).sweep_once() == 1
    text = (
        f"Runwright: <https://runwright.example.com/jobs/{job_id}|Export &lt;orders&gt; "
        "&amp; invoices> is waiting for approval before step 3 (Pay the invoice), risk high."
    )
    sent = receiver.requests[1].json()
    assert sent["text"] == text
    section, actions = sent["blocks"]
    assert section == {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert set(buttons) == {"runwright_approve", "runwright_reject"}
    assert {b["value"] for b in buttons.values()} == {f"{job_id}:2"}
    assert [b["text"]["text"] for b in actions["elements"]] == ["Approve", "Reject"]


async def test_an_approval_request_notifies_only_webhooks_subscribed_to_approvals(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await subscribe(pool, receiver.url("/finished"), "job.finished")
    hook = await subscribe(pool, receiver.url("/approvals"), "approval.requested")
    job_id = str(uuid.uuid4())
    assert await notify.record(pool, approval(job_id)) == 1
    assert await notify.record(pool, approval(job_id, "approved", seq=5)) == 0
    assert await notify.record(pool, finished(job_id, "running", seq=6)) == 0
    async with httpx.AsyncClient() as client:
        assert await Dispatcher(pool, client, FAST).sweep_once() == 1
    [call] = receiver.requests
    assert call.path == "/approvals"
    assert signature_is_valid(hook.secret, call)
    body = call.json()
    assert (body["event"], body["job_id"], body["title"]) == ("approval.requested", job_id, None)
    assert body["approval"]["approval_id"] == "ap-1"
    assert (body["approval"]["ordinal"], body["approval"]["risk_level"]) == (2, "high")
    assert body["approval"]["description"] == "Pay the invoice"
    assert datetime.fromisoformat(body["approval"]["deadline"]) > datetime.now(UTC)


async def test_only_an_event_that_records_a_delivery_is_a_span_in_the_jobs_trace(
    pool: asyncpg.Pool, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The consumer reads every status event; one no webhook asked for adds nothing to the trace.
    await subscribe(pool, receiver.url(), "job.finished")
    job_id = str(uuid.uuid4())
    with spans_of(notify, monkeypatch) as exported:
        with notify._tracer.start_as_current_span("job status"):
            assert await notify.record(pool, approval(job_id)) == 0  # no webhook for approvals
        with notify._tracer.start_as_current_span("job status") as parent:
            assert await notify.record(pool, finished(job_id)) == 1
        spans = [s for s in exported.get_finished_spans() if s.name != "job status"]
    [span] = spans
    assert span.name == "consume approval-notify"
    assert span.kind is SpanKind.CONSUMER
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.attributes is not None
    assert (span.attributes["runwright.job.id"], span.attributes["runwright.webhooks"]) == (
        job_id,
        1,
    )


async def test_the_consumer_ignores_events_that_do_not_notify_and_kinds_it_does_not_know(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await subscribe(pool, receiver.url(), "job.finished", "approval.requested")
    kicks: list[None] = []
    notifier = notify.Notifier(pool, "", lambda: kicks.append(None))
    job_id = str(uuid.uuid4())
    step = StepEvent(job_id=job_id, seq=1, at=datetime.now(UTC), ordinal=0, status="running")
    for event in (step, {"type": "something.new", "job_id": job_id, "seq": 2}):
        await notifier.handle(msgspec.Raw(msgspec.json.encode(event)), cast(Msg, None))
    assert (await pool.fetchval("SELECT count(*) FROM approval.deliveries"), kicks) == (0, [])
    await notifier.handle(msgspec.Raw(msgspec.json.encode(finished(job_id))), cast(Msg, None))
    assert (await pool.fetchval("SELECT count(*) FROM approval.deliveries"), kicks) == (1, [None])


async def test_a_receiver_that_never_answers_is_given_up_after_the_last_attempt(
    pool: asyncpg.Pool,
) -> None:
    with closed_port() as port:
        await subscribe(pool, f"http://127.0.0.1:{port}/hook")
        await notify.record(pool, finished(str(uuid.uuid4())))
        async with dispatching(pool, RetryPolicy(base_s=0.02, cap_s=0.05, max_attempts=3)):
            row = await delivery_in(pool, "gave_up")
    assert (row["attempt"], row["response_code"]) == (3, None)
    assert row["error"].startswith("ConnectError")
    assert [(a, code) for a, code, _ in await attempts(pool)] == [(1, None), (2, None), (3, None)]


async def test_a_delivery_whose_sender_died_is_sent_by_another_once_its_lease_runs_out(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    await subscribe(pool, receiver.url())
    await notify.record(pool, finished(str(uuid.uuid4())))
    async with httpx.AsyncClient() as client:
        crashed = Dispatcher(pool, client, FAST)
        assert len(await crashed.claim(10)) == 1  # ...and the process dies before sending
        survivor = Dispatcher(pool, client, FAST)
        assert await survivor.sweep_once() == 0, "the lease still holds"
        await pool.execute("UPDATE approval.deliveries SET next_attempt_at = now()")  # time passes
        assert await survivor.sweep_once() == 1
    assert len(receiver.requests) == 1
    assert await attempts(pool) == [(2, 200, None)]


async def test_deleting_a_webhook_drops_its_pending_deliveries(
    pool: asyncpg.Pool, receiver: Receiver
) -> None:
    hook = await subscribe(pool, receiver.url())
    await notify.record(pool, finished(str(uuid.uuid4())))
    assert (await subscriptions.delete_webhook(pool, DeleteWebhook(webhook_id=hook.id))).deleted
    assert not (await subscriptions.delete_webhook(pool, DeleteWebhook(webhook_id=hook.id))).deleted
    async with httpx.AsyncClient() as client:
        assert await Dispatcher(pool, client, FAST).sweep_once() == 0
    assert receiver.requests == []


async def test_receiver_urls_must_be_http_and_on_the_allow_list_when_one_is_set(
    pool: asyncpg.Pool,
) -> None:
    async def field_at_fault(url: str, allowed: list[str], secret: str | None = None) -> str | None:
        cmd = CreateWebhook(url=url, events=["job.finished"], secret=secret)
        reply = await subscriptions.create_webhook(pool, cmd, allowed)
        return None if isinstance(reply, WebhookCreated) else reply.field

    assert await field_at_fault("ftp://hooks.example.com/x", []) == "url"
    assert await field_at_fault("http://127.0.0.1:9/x", []) is None
    assert await field_at_fault("http://127.0.0.1:9/x", ["hooks.example.com"]) == "url"
    assert await field_at_fault("https://a.hooks.example.com/x", ["*.example.com"]) is None
    assert await field_at_fault("http://10.1.2.3/x", ["10.0.0.0/8"]) is None
    assert await field_at_fault("https://hooks.example.com/x", [], secret="short") == "secret"
    assert await pool.fetchval("SELECT count(*) FROM approval.webhooks") == 3


def test_retry_delays_double_from_the_base_up_to_the_cap() -> None:
    policy = RetryPolicy(base_s=1, cap_s=30, max_attempts=8)
    assert [policy.delay_s(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_the_retry_base_is_a_setting_and_a_bad_value_names_its_variable() -> None:
    settings = load(ApprovalSettings, {"RUNWRIGHT_WEBHOOK_RETRY_BASE_S": "0.05"})
    assert settings.webhook_retry_base_s == 0.05
    with pytest.raises(SettingsError, match="RUNWRIGHT_WEBHOOK_RETRY_BASE_S"):
        load(ApprovalSettings, {"RUNWRIGHT_WEBHOOK_RETRY_BASE_S": "soon"})
