"""The ``runwright`` commands against a running gateway, run as real subprocesses: submit and
follow, list and show jobs, steer them, list schedules; bad input is one line, never a traceback."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import closing
from importlib.metadata import version
from pathlib import Path
from subprocess import CompletedProcess

import httpx
import pytest
import yaml
from runwright_client import Runwright
from runwright_proto.api.jobs import JobRequest
from runwright_proto.events import StatusEvent
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack
from support.cli import runwright
from support.runbooks import approval_runbook, example, runbook

pytestmark = pytest.mark.e2e
Cli = Callable[..., CompletedProcess[str]]


@pytest.fixture
def cli(stack: Stack, tmp_path: Path) -> Cli:
    def run(*args: str) -> CompletedProcess[str]:
        return runwright(*args, api=stack.gateway_url, token=stack.token, cwd=tmp_path)

    return run


def row(output: str, number: int, description: str) -> str:
    """The table row that shows step ``number`` (as people count) with ``description``."""
    found = re.search(rf"^.*\W{number}\s+\W\s+{re.escape(description)}.*$", output, re.M)
    assert found, f"no row for step {number} {description!r} in:\n{output}"
    return found.group(0)


def wait_until(client: Runwright, job_id: str, status: str) -> None:
    with closing(client.follow(job_id)) as events:
        for event in events:
            if isinstance(event, StatusEvent) and event.status == status:
                return
    raise AssertionError(f"job {job_id} ended without reaching {status}")


def quick_job(client: Runwright, demo_url: str, title: str, **extra: object) -> str:
    document = runbook(
        [{"description": "Wait a moment", "action": {"type": "wait", "duration": 1}}],
        start_url=demo_url,
        title=title,
    )
    return client.submit(JobRequest(runbook=document, **extra)).id  # type: ignore[arg-type]


def test_submit_follow_draws_the_steps_numbered_from_one_and_exits_0_when_the_job_completes(
    cli: Cli, demo_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "login.yaml"
    file.write_text(example("login.yaml", demo_url))
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"password": "demo"}))
    done = cli(
        "submit", str(file), "--var", "email=ops@example.com", "--secrets", str(secrets), "--follow"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"submitted job [0-9a-f-]{36}: Sign in to Acme Back Office", done.stdout)
    assert "success" in row(done.stdout, 1, "Open the login page")
    assert "success" in row(done.stdout, 3, "Enter the password")
    assert "success" in row(done.stdout, 5, "Wait for the orders table on the dashboard")
    assert "completed" in done.stdout


def test_submit_follow_exits_1_when_a_step_fails_and_shows_the_failed_step(
    cli: Cli, demo_url: str, tmp_path: Path
) -> None:
    steps = [
        {"description": "Open the login page", "action": {"type": "navigate", "url": "/login"}},
        {
            "description": "Press a button that is not there",
            "action": {"type": "click", "selector": {"id": "no-such-button"}},
        },
    ]
    file = tmp_path / "broken.yaml"
    file.write_text(yaml.safe_dump(runbook(steps, start_url=demo_url, timeout_ms=1000)))
    done = cli("submit", str(file), "--follow")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "success" in row(done.stdout, 1, "Open the login page")
    assert "failed" in row(done.stdout, 2, "Press a button that is not there")
    assert re.search(r"job [0-9a-f-]{36}: failed", done.stdout)


def test_submit_without_follow_prints_the_job_and_how_to_watch_it(
    cli: Cli, client: Runwright, demo_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "quick.yaml"
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    file.write_text(yaml.safe_dump(document))
    done = cli("submit", str(file))
    assert done.returncode == 0, done.stderr
    job_id = re.search(r"runwright jobs watch ([0-9a-f-]{36})", done.stdout)
    assert job_id, done.stdout
    watched = cli("jobs", "watch", job_id.group(1))
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert client.get_job(job_id.group(1)).status == "completed"


def test_approve_wins_once_and_a_second_approve_reports_the_409_with_the_status(
    cli: Cli, client: Runwright, demo_url: str
) -> None:
    document = runbook(approval_runbook(), start_url=demo_url, timeout_ms=5000)
    job_id = client.submit(JobRequest(runbook=document)).id
    wait_until(client, job_id, "waiting_for_approval")
    approved = cli("approve", job_id, "--reason", "looks right")
    assert approved.returncode == 0, approved.stderr
    assert f"approved job {job_id}" in approved.stdout
    again = cli("approve", job_id)
    assert again.returncode == 3
    assert re.fullmatch(
        rf"✗ cannot approve job {job_id}: it is (running|completed)\n", again.stderr
    ), again.stderr
    watched = cli("jobs", "watch", job_id)
    assert watched.returncode == 0, watched.stdout


def test_jobs_list_and_get_show_the_job_and_its_numbered_steps(
    cli: Cli, client: Runwright, demo_url: str
) -> None:
    title = f"Listed {uuid.uuid4().hex[:8]}"
    job_id = quick_job(client, demo_url, title)
    wait_until(client, job_id, "completed")
    listed = cli("jobs", "list", "--status", "completed", "--limit", "200")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{job_id}.*completed.*{title}", listed.stdout), listed.stdout
    shown = cli("jobs", "get", job_id)
    assert shown.returncode == 0, shown.stderr
    assert title in shown.stdout
    assert "status:   completed" in shown.stdout
    assert "success" in row(shown.stdout, 1, "Wait a moment")


def test_watching_a_cancelled_job_exits_2(cli: Cli, client: Runwright, demo_url: str) -> None:
    job_id = quick_job(client, demo_url, "Cancelled", run_at="2099-01-01T00:00:00Z")
    cancelled = cli("cancel", job_id, "--reason", "not needed")
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"cancelled job {job_id}: it is now cancelled" in cancelled.stdout
    watched = cli("jobs", "watch", job_id)
    assert watched.returncode == 2, watched.stdout + watched.stderr
    assert "cancelled" in watched.stdout


@pytest.fixture
def schedule(api: httpx.Client, demo_url: str) -> Iterator[str]:
    name = f"Nightly export {uuid.uuid4().hex[:8]}"
    document = runbook([{"action": {"type": "wait", "duration": 1}}], start_url=demo_url)
    body = {"name": name, "cron": "15 3 * * *", "timezone": "Europe/Berlin", "runbook": document}
    created = api.post("/api/v1/schedules", json={**body, "paused": True})
    assert created.status_code == 201, created.text
    yield name
    api.delete(f"/api/v1/schedules/{created.json()['id']}")


def test_schedules_list_shows_each_schedule_with_its_cron_and_state(
    cli: Cli, schedule: str
) -> None:
    listed = cli("schedules", "list", "--limit", "200")
    assert listed.returncode == 0, listed.stderr
    assert re.search(rf"{schedule}.*15 3 \* \* \*.*Europe/Berlin.*paused", listed.stdout)


def test_version_names_the_installed_package(cli: Cli) -> None:
    done = cli("--version")
    assert done.returncode == 0
    assert done.stdout == f"runwright {version('runwright-cli')}\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["submit", "missing.yaml"], "runbook missing.yaml does not exist"),
        (["submit", "broken.yaml"], "broken.yaml is not valid YAML at line 2"),
        (["jobs", "get", str(uuid.UUID(int=7))], f"job {uuid.UUID(int=7)} does not exist"),
        (["jobs", "watch", "not-a-job"], "job 'not-a-job' does not exist"),
        (["submit", "login.yaml", "--secrets", "secrets.yaml"], "secrets.yaml is not valid YAML"),
        (["submit", "login.yaml", "--var", "oops"], "--var expects name=value, got 'oops'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exits_3(
    cli: Cli, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "broken.yaml").write_text("title: [never closed\n")
    (tmp_path / "login.yaml").write_text(
        (Path(__file__).parents[1] / "examples/login.yaml").read_text()
    )
    (tmp_path / "secrets.yaml").write_text('password: "hunter2-never-shown\n')
    done = cli(*args)
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("✗ "), done.stderr
    assert message in done.stderr
    assert "hunter2" not in done.stdout + done.stderr


def test_a_runbook_the_gateway_refuses_names_the_field(cli: Cli, tmp_path: Path) -> None:
    file = tmp_path / "clack.yaml"
    original = (Path(__file__).parents[1] / "examples" / "login.yaml").read_text()
    file.write_text(original.replace("type: click", "type: clack"))
    done = cli("submit", str(file), "--var", "email=a@b.c", "--var", "password=demo")
    assert done.returncode == 3
    assert "steps[3].action.type" in done.stderr
    assert "Traceback" not in done.stderr


def test_no_gateway_at_the_address_exits_4_and_says_where_it_looked(tmp_path: Path) -> None:
    api = f"http://127.0.0.1:{free_port()}"
    done = runwright("jobs", "list", api=api, token="t", cwd=tmp_path)
    assert done.returncode == 4
    assert (
        done.stderr == f"✗ no gateway answers at {api}: is `runwright run` running? "
        "(choose another with --api or RUNWRIGHT_API)\n"
    )


def test_the_api_and_token_default_to_what_the_embedded_system_wrote(
    stack: Stack, tmp_path: Path
) -> None:
    stored = tmp_path / ".runwright"
    stored.mkdir()
    (stored / "admin-token").write_text(stack.token + "\n")
    (stored / "api-url").write_text(stack.gateway_url + "\n")
    done = runwright("jobs", "list", "--limit", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    (stored / "admin-token").unlink()
    refused = runwright("jobs", "list", cwd=tmp_path)
    assert refused.returncode == 3
    assert refused.stderr.startswith("✗ no API token: pass --token, set RUNWRIGHT_TOKEN")


def test_a_wrong_token_is_one_line_that_says_so(stack: Stack, tmp_path: Path) -> None:
    done = runwright("jobs", "list", api=stack.gateway_url, token="not-the-token", cwd=tmp_path)
    assert done.returncode == 3
    assert done.stderr == ("✗ the gateway refused the token: pass --token or set RUNWRIGHT_TOKEN\n")
