"""The clustered shape on one machine (``runwright run --cluster``): three NATS nodes in one
JetStream cluster, two replicas of every service, three executors, two gateways. What holds on one
process per service holds here: a client may use either gateway, a decision has one winner, a
schedule occurrence fires once, a resumed event stream loses and repeats nothing, and a NATS node
killed with SIGKILL loses no job and comes back into the cluster.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from nats.js.api import ObjectStoreConfig
from runwright_bus.topology import keep_replicas
from runwright_proto import streams, subjects
from runwright_scheduler.firing import SCHEDULE_LABEL
from runwright_stack.stack import Stack
from support.runbooks import approval_runbook, runbook
from support.sse import read_events
from support.stack import running_stack

pytestmark = pytest.mark.e2e

TERMINAL = ("completed", "failed", "cancelled")
NODE_NAMES = {"runwright-0", "runwright-1", "runwright-2"}
STREAMS = [s.name for s in streams.ALL_STREAMS] + [f"OBJ_{subjects.STAGING_BUCKET}"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Stack]:
    with running_stack(cluster=True, nats_restarts=True) as started:
        yield started


@pytest.fixture(scope="module")
def demo(cluster: Stack) -> str:
    return f"http://127.0.0.1:{cluster.config.demo_port}"


@pytest.fixture(scope="module")
def gateways(cluster: Stack) -> Iterator[list[httpx.Client]]:
    headers = {"Authorization": f"Bearer {cluster.token}"}
    clients = [httpx.Client(base_url=u, headers=headers, timeout=30) for u in cluster.gateway_urls]
    yield clients
    for client in clients:
        client.close()


@pytest.fixture(scope="module")
def minutely(gateways: list[httpx.Client], demo: str) -> Iterator[dict[str, Any]]:
    """A schedule firing every minute, made when the module starts so that occurrences fall due
    while the other tests run; the last test counts its jobs."""
    body = {
        "name": "Cluster minutely",
        "cron": "* * * * *",
        "timezone": "UTC",
        "overlap": "allow",
        "runbook": steps(demo, 1),
    }
    made = gateways[1].post("/api/v1/schedules", json=body)
    assert made.status_code == 201, made.text
    schedule: dict[str, Any] = made.json()
    yield schedule
    gateways[0].delete(f"/api/v1/schedules/{schedule['id']}")


def steps(demo: str, count: int, wait_ms: int = 10) -> dict[str, Any]:
    return runbook(
        [{"action": {"type": "navigate", "url": f"{demo}/login"}}]
        + [{"action": {"type": "wait", "duration": wait_ms}} for _ in range(count)],
        start_url=demo,
    )


def submit(api: httpx.Client, document: dict[str, Any], **fields: Any) -> str:
    """Submit as a client should: a 503 (no queue replica answered while a node's clients
    reconnect) is tried again, a few times."""
    for _ in range(10):
        made = api.post("/api/v1/jobs", json={"runbook": document, **fields})
        if made.status_code != 503:
            break
        time.sleep(1)
    assert made.status_code == 201, made.text
    job_id: str = made.json()["id"]
    return job_id


def completed(api: httpx.Client, job_id: str) -> bool:
    """Whether the job ends completed; if not, the test fails naming how it ended."""
    job = wait_status(api, job_id, TERMINAL)
    if job["status"] != "completed":
        _, events = read_events(api, f"/api/v1/jobs/{job_id}/events")
        ended = [e.data for e in events if e.event in ("status", "step", "approval")][-3:]
        pytest.fail(f"job {job_id} {job['status']}: {ended}")
    return True


def wait_status(api: httpx.Client, job_id: str, wanted: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        job: dict[str, Any] = api.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in wanted:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
        assert job["status"] not in TERMINAL, job
        time.sleep(0.2)


async def stream_infos(stack: Stack) -> dict[str, Any]:
    nc = await nats.connect(servers=stack.nats_urls, connect_timeout=5)
    try:
        js = nc.jetstream(timeout=10)
        return {name: await js.stream_info(name) for name in STREAMS}
    finally:
        await nc.close()


def all_current(infos: dict[str, Any]) -> bool:
    """Every stream has a leader and two replicas that are caught up, on three distinct nodes."""
    for info in infos.values():
        state = info.cluster
        if state is None or not state.leader or len(state.replicas or []) != 2:
            return False
        names = {state.leader, *(peer.name for peer in state.replicas)}
        if names != NODE_NAMES or not all(peer.current for peer in state.replicas):
            return False
    return True


def wait_all_current(stack: Stack, timeout: float = 60) -> dict[str, Any]:
    """Stream states once every stream is current again. While a revived node catches up, a
    stream-info request may go unanswered (a leader being elected): that is asked again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            infos = asyncio.run(stream_infos(stack))
        except TimeoutError:  # nats.errors.TimeoutError is one
            assert time.monotonic() < deadline, "stream states still unanswered"
            continue
        if all_current(infos) or time.monotonic() > deadline:
            return infos
        time.sleep(0.5)


async def sql(stack: Stack, query: str, *args: Any) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(stack.database_url)
    try:
        return list(await connection.fetch(query, *args))
    finally:
        await connection.close()


def test_the_cluster_forms_with_every_stream_at_three_replicas(
    cluster: Stack, minutely: dict[str, Any]
) -> None:
    assert [n.name for n in cluster.nats_nodes] == sorted(NODE_NAMES)
    assert cluster.nats is cluster.nats_nodes[0]
    assert len(cluster.nats_urls) == 3
    ports = [int(u.rsplit(":", 1)[1]) for u in cluster.gateway_urls]
    assert ports == [cluster.config.gateway_port, cluster.config.gateway_port + 1]
    assert cluster.gateway_url == cluster.gateway_urls[0]
    services = {name for name in cluster.children if name != "demo"}
    assert services == {
        f"{service}-{i}"
        for service in ("gateway", "queue", "scheduler", "approval", "artifact")
        for i in (0, 1)
    } | {"executor-0", "executor-1", "executor-2"}
    infos = wait_all_current(cluster)
    assert {name: info.config.num_replicas for name, info in infos.items()} == dict.fromkeys(
        STREAMS, 3
    )
    assert all_current(infos), {name: info.cluster for name, info in infos.items()}


def test_a_bucket_made_with_one_copy_is_raised_to_the_settings_three(cluster: Stack) -> None:
    """As the artifact service does for the staging bucket of an installation grown from one
    nats-server to a cluster."""

    async def raised() -> tuple[int, int]:
        nc = await nats.connect(servers=cluster.nats_urls, connect_timeout=5)
        try:
            js = nc.jetstream(timeout=10)
            await js.create_object_store("grown", config=ObjectStoreConfig(replicas=1))
            before = (await js.stream_info("OBJ_grown")).config.num_replicas
            await keep_replicas(js, "OBJ_grown", 3)
            await keep_replicas(js, "OBJ_grown", 1)  # never lowers
            after = (await js.stream_info("OBJ_grown")).config.num_replicas
            await js.delete_object_store("grown")
            return before or 0, after or 0
        finally:
            await nc.close()

    assert asyncio.run(raised()) == (1, 3)


def test_a_job_submitted_on_one_gateway_is_followed_to_the_end_on_the_other(
    cluster: Stack, gateways: list[httpx.Client], demo: str
) -> None:
    job_id = submit(gateways[0], steps(demo, 3, wait_ms=200))
    status, events = read_events(gateways[1], f"/api/v1/jobs/{job_id}/events", timeout=120)
    assert status == 200
    assert events[-1].data["status"] == "completed", events[-1]
    ids = [e.id for e in events]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "every event once, in order"
    assert gateways[0].get(f"/api/v1/jobs/{job_id}").json()["status"] == "completed"


def test_resuming_on_the_other_gateway_loses_and_repeats_nothing(
    cluster: Stack, gateways: list[httpx.Client], demo: str
) -> None:
    job_id = submit(gateways[1], steps(demo, 8, wait_ms=300))
    path = f"/api/v1/jobs/{job_id}/events"
    status, first = read_events(gateways[0], path, limit=6, timeout=120)
    assert status == 200
    assert len(first) == 6
    status, rest = read_events(gateways[1], path, last_event_id=first[-1].id, timeout=120)
    assert status == 200
    assert rest[-1].data["status"] == "completed", rest[-1]
    _, whole = read_events(gateways[0], path, timeout=60)
    seen = [(e.id, e.event) for e in first + rest]
    assert seen == [(e.id, e.event) for e in whole], "no gap and no repeat across gateways"


def test_two_approvals_at_once_on_the_two_gateways_have_one_winner(
    cluster: Stack, gateways: list[httpx.Client], demo: str
) -> None:
    document = runbook(approval_runbook(), start_url=demo, timeout_ms=5000)
    job_id = submit(gateways[0], document)
    version = wait_status(gateways[0], job_id, ("waiting_for_approval",))["version"]
    answers: list[int] = []
    start = threading.Barrier(2)

    def approve(api: httpx.Client) -> None:
        start.wait()
        answer = api.post(f"/api/v1/jobs/{job_id}/approve", headers={"If-Match": f'"{version}"'})
        answers.append(answer.status_code)

    threads = [threading.Thread(target=approve, args=(api,)) for api in gateways]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409], answers
    assert wait_status(gateways[1], job_id, TERMINAL)["status"] == "completed"
    applied = asyncio.run(
        sql(
            cluster,
            "SELECT action FROM approval.decisions WHERE job_id = $1 AND outcome = 'applied'",
            uuid.UUID(job_id),
        )
    )
    assert [r["action"] for r in applied] == ["approve"], "one decision recorded"
    _, events = read_events(gateways[1], f"/api/v1/jobs/{job_id}/events")
    decided = [e.data for e in events if e.event == "approval" and e.data["state"] != "requested"]
    assert [d["state"] for d in decided] == ["approved"], decided


def test_a_nats_node_killed_while_jobs_run_loses_no_job_and_rejoins(
    cluster: Stack, gateways: list[httpx.Client], demo: str
) -> None:
    infos = asyncio.run(stream_infos(cluster))
    leader = infos[streams.DISPATCH.name].cluster.leader
    [victim] = [node for node in cluster.nats_nodes if node.name == leader]
    # The default loss policy (fail): a claim whose reply is lost with the node is asked again
    # under the same claim id and gets the same grant, so no job is left to its lease.
    jobs = [submit(gateways[i % 2], steps(demo, 6, wait_ms=400)) for i in range(6)]
    wait_status(gateways[0], jobs[0], ("running", *TERMINAL))
    victim.kill()
    assert not victim.alive()
    more = [submit(gateways[i % 2], steps(demo, 2)) for i in range(2)]
    for job_id in jobs + more:
        assert completed(gateways[1], job_id)
    cluster.revive()
    assert victim.alive()
    infos = wait_all_current(cluster)
    assert all_current(infos), {name: info.cluster for name, info in infos.items()}
    after = submit(gateways[0], steps(demo, 1))
    assert wait_status(gateways[1], after, TERMINAL)["status"] == "completed"


def test_postgres_restarted_the_cluster_goes_on(
    cluster: Stack, gateways: list[httpx.Client], demo: str
) -> None:
    assert cluster.postgres is not None
    before = cluster.postgres.proc
    cluster.postgres.restart()
    assert cluster.postgres.proc is not before
    assert cluster.postgres.alive()
    deadline = time.monotonic() + 60
    while True:  # the gateways' pools notice the restart on their next query
        answer = gateways[1].post("/api/v1/jobs", json={"runbook": steps(demo, 1)})
        if answer.status_code == 201:
            break
        assert answer.status_code == 503, answer.text
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)
    assert wait_status(gateways[0], answer.json()["id"], TERMINAL)["status"] == "completed"


def test_each_schedule_occurrence_fires_once_with_two_schedulers(
    cluster: Stack, gateways: list[httpx.Client], minutely: dict[str, Any]
) -> None:
    schedule_id = minutely["id"]
    path = f"/api/v1/schedules/{schedule_id}/occurrences"
    deadline = time.monotonic() + 150
    while True:
        fired = [o for o in gateways[0].get(path).json()["items"] if o["outcome"] == "fired"]
        if len(fired) >= 2:
            break
        assert time.monotonic() < deadline, f"{len(fired)} occurrences fired"
        time.sleep(1)
    times = [datetime.fromisoformat(o["fire_at"]) for o in fired]
    assert len(set(times)) == len(times), "an occurrence recorded twice"
    # One snapshot of both tables; a job is submitted just before its occurrence commits, so
    # a count taken at that instant may lead by one: look again.
    counts = """
        SELECT (SELECT count(*) FROM scheduler.occurrences
                WHERE schedule_id::text = $1 AND outcome = 'fired') AS occurrences,
               (SELECT count(*) FROM queue.jobs WHERE labels ->> $2 = $1) AS jobs
    """
    deadline = time.monotonic() + 30
    while True:
        [row] = asyncio.run(sql(cluster, counts, schedule_id, SCHEDULE_LABEL))
        if row["jobs"] == row["occurrences"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (row["occurrences"], row["jobs"]) == (row["occurrences"], row["occurrences"]), (
        "one job per occurrence"
    )
    assert row["occurrences"] >= 2
    for occurrence in fired:
        job = gateways[1].get(f"/api/v1/jobs/{occurrence['job_id']}")
        assert job.status_code == 200
        assert job.json()["trigger"] == "schedule"
