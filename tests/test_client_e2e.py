"""runwright_client against the real gateway: typed answers, typed refusals, and a job's event
stream followed to its end across a dropped connection."""

from __future__ import annotations

import uuid

import httpx
import pytest
from runwright_client import ApiError, AsyncRunwright, Runwright
from runwright_proto.api.jobs import JobRequest, JobView
from runwright_proto.events import ApprovalEvent, StatusEvent, StepEvent
from runwright_stack.stack import Stack
from support.proxy import relay
from support.runbooks import approval_runbook, runbook

pytestmark = pytest.mark.e2e


def waits(demo_url: str, count: int, duration_ms: int) -> JobRequest:
    steps = [{"action": {"type": "wait", "duration": duration_ms}} for _ in range(count)]
    return JobRequest(runbook=runbook(steps, start_url=demo_url))


def test_follow_resumes_after_a_dropped_connection_without_losing_or_repeating_events(
    stack: Stack, demo_url: str
) -> None:
    with relay(stack.config.gateway_port) as proxy, Runwright(proxy.url, stack.token) as rw:
        job = rw.submit(waits(demo_url, 4, 600))
        seqs, cut_after = [], None
        for event in rw.follow(job.id):
            seqs.append(event.seq)
            if cut_after is None and isinstance(event, StepEvent):
                cut_after, connections = event.seq, proxy.accepted
                proxy.cut()
        assert cut_after is not None
        assert proxy.accepted > connections, "the stream was resumed on a new connection"
    assert seqs == list(range(1, len(seqs) + 1)), "no event lost or repeated"
    assert isinstance(event, StatusEvent)
    assert event.status == "completed"
    assert seqs[-1] > cut_after


def test_following_a_finished_job_from_its_last_event_ends_at_once(
    client: Runwright, demo_url: str
) -> None:
    job = client.submit(waits(demo_url, 1, 1))
    events = list(client.follow(job.id))
    assert isinstance(events[-1], StatusEvent)
    assert events[-1].status == "completed"
    assert list(client.follow(job.id, after=events[-1].seq)) == []  # the gateway answers 204


def test_a_refused_action_raises_the_problem_with_the_job_status(
    client: Runwright, demo_url: str
) -> None:
    job = client.submit(waits(demo_url, 1, 1))
    list(client.follow(job.id))
    with pytest.raises(ApiError) as refused:
        client.act(job.id, "resume")
    assert refused.value.status == 409
    assert refused.value.job_status == "completed"
    assert refused.value.problem.code == "conflict"


def test_an_invalid_runbook_raises_the_problem_with_its_field_errors(
    client: Runwright, demo_url: str
) -> None:
    document = runbook([{"action": {"type": "clack"}}], start_url=demo_url)
    with pytest.raises(ApiError) as refused:
        client.submit(JobRequest(runbook=document))
    assert refused.value.status == 422
    assert refused.value.problem.errors[0].field.startswith("runbook.steps[0].action")


def test_an_unknown_job_is_a_404_problem(client: Runwright) -> None:
    with pytest.raises(ApiError) as missing:
        client.get_job(str(uuid.uuid4()))
    assert missing.value.status == 404
    assert missing.value.problem.title == "Not found"


async def test_the_async_client_submits_lists_and_follows_a_job(
    stack: Stack, demo_url: str
) -> None:
    async with AsyncRunwright(stack.gateway_url, stack.token) as rw:
        job = await rw.submit(waits(demo_url, 2, 1))
        assert isinstance(job, JobView)
        statuses = [e.status async for e in rw.follow(job.id) if isinstance(e, StatusEvent)]
        assert statuses[-1] == "completed"
        page = await rw.list_jobs(status="completed", limit=200)
        assert job.id in [j.id for j in page.items]
        assert (await rw.get_job(job.id)).steps[1].status == "success"


def test_a_counted_approval_is_told_from_an_applied_one(
    client: Runwright, api: httpx.Client, stack: Stack, demo_url: str
) -> None:
    document = runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000)
    document["x-runwright"] = {"approval": {"approvals": 2}}
    job = client.submit(JobRequest(runbook=document))
    for event in client.follow(job.id):
        if isinstance(event, ApprovalEvent) and event.state == "requested":
            break
    key = api.post(
        "/api/v1/keys", json={"name": f"second-{uuid.uuid4().hex[:6]}", "role": "member"}
    )
    assert key.status_code == 201, key.text

    counted = client.act(job.id, "approve")
    assert counted.status == "waiting_for_approval"
    assert counted.approvals is not None
    assert (counted.approvals.given, counted.approvals.required) == (1, 2)
    seen = client.approval(job.id)
    assert (seen.given, seen.required, seen.approved_by) == (1, 2, ["admin"])
    assert seen.can_decide is False, "the same actor does not count twice"

    with Runwright(stack.gateway_url, key.json()["key"]) as second:
        applied = second.act(job.id, "approve")
        assert applied.status != "waiting_for_approval"
        assert applied.approvals is not None
        assert applied.approvals.given == applied.approvals.required == 2
