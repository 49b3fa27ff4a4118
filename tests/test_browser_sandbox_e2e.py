"""Chromium sandboxed, seen from /proc while a job runs: the browser runs as an unprivileged user
without ``--no-sandbox``, each renderer sits in user and pid namespaces of its own under a seccomp
filter, and that user cannot read what the rest of the system keeps."""

from __future__ import annotations

import contextlib
import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from runwright_stack.accounts import drop_to, system_account
from runwright_stack.stack import BROWSER_USER, Stack
from support.runbooks import runbook

pytestmark = pytest.mark.e2e
as_root = pytest.mark.skipif(os.geteuid() != 0, reason="make run drops to the browser user as root")


def status(pid: int) -> dict[str, str]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines())}


def argv(pid: int) -> list[str]:
    """A process's arguments (Chromium's helpers rewrite theirs into one string)."""
    raw = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    return [part for arg in raw.split("\0") for part in arg.split(" ") if part]


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                todo.append(child)
    return found


def chromium_processes(stack: Stack) -> dict[str, list[int]]:
    """The executor's Chromium processes by ``--type`` (``browser`` for the main one)."""
    executor = stack.service("executor-0").proc
    assert executor is not None
    kinds: dict[str, list[int]] = {}
    for pid in descendants(executor.pid):
        try:
            args = argv(pid)
        except OSError:
            continue
        if not args or "chrom" not in Path(args[0]).name:
            continue
        kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
        kinds.setdefault(kind, []).append(pid)
    return kinds


def running_job(api: httpx.Client, demo_url: str) -> str:
    document = runbook(
        [
            {"action": {"type": "navigate", "url": "/login"}},
            {"action": {"type": "wait", "duration": 120000}},
        ],
        start_url=demo_url,
        timeout_ms=150000,
    )
    job_id: str = api.post("/api/v1/jobs", json={"runbook": document}).json()["id"]
    deadline = time.monotonic() + 60
    while api.get(f"/api/v1/jobs/{job_id}").json()["steps"][1]["status"] != "running":
        assert time.monotonic() < deadline, "the job did not reach its wait"
        time.sleep(0.2)
    return job_id


@as_root
def test_the_browser_runs_as_the_browser_user_with_its_sandbox_on(
    stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    job_id = running_job(api, demo_url)
    try:
        kinds = chromium_processes(stack)
        browser_uid = pwd.getpwnam(BROWSER_USER).pw_uid
        (main,) = kinds["browser"]
        assert status(main)["Uid"].split()[0] == str(browser_uid)
        assert "--no-sandbox" not in argv(main)
        renderers = kinds.get("renderer", [])
        assert renderers, f"no renderer among {kinds}"
        for pid in renderers:
            info = status(pid)
            assert info["Uid"].split()[0] == str(browser_uid)
            assert info["Seccomp"] == "2", "each renderer runs under a seccomp filter"
            assert len(info["NSpid"].split()) >= 2, "each renderer has a pid namespace of its own"
            assert os.readlink(f"/proc/{pid}/ns/user") != os.readlink(f"/proc/{main}/ns/user")
        executor = stack.service("executor-0").proc
        assert executor is not None
        gids = {int(g) for g in status(executor.pid)["Groups"].split()}
        assert 0 not in gids, "root's groups are dropped"
    finally:
        api.post(f"/api/v1/jobs/{job_id}/cancel")


def thread_nice(pid: int) -> set[int]:
    """The nice values of a process's threads."""
    values = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            stat = (task / "stat").read_text()
            values.add(int(stat[stat.rindex(")") + 2 :].split()[16]))
    return values


@as_root
def test_the_browser_raises_its_own_threads_while_its_renderers_hold_no_capability(
    stack: Stack, api: httpx.Client, demo_url: str
) -> None:
    """Chromium orders its threads (compositor and IO up to nice -8) as it does for root, which
    halves what a busy machine spends per page; the renderers cannot renice anything."""
    job_id = running_job(api, demo_url)
    try:
        kinds = chromium_processes(stack)
        (main,) = kinds["browser"]
        assert -8 in thread_nice(main), thread_nice(main)
        for pid in kinds.get("renderer", []):
            assert -8 in thread_nice(pid), "a renderer's compositor runs raised"
            info = status(pid)
            assert int(info["CapEff"], 16) == 0, f"renderer {pid} holds {info['CapEff']}"
            assert int(info["CapAmb"], 16) == 0
    finally:
        api.post(f"/api/v1/jobs/{job_id}/cancel")


@as_root
def test_the_browser_user_cannot_read_the_secrets_key_the_token_or_the_database(
    stack: Stack,
) -> None:
    account = system_account(BROWSER_USER)
    assert account is not None
    targets = [
        stack.data_dir / "secrets-key",
        stack.data_dir / "postgres" / "PG_VERSION",
        stack.data_dir / "postgres" / "global" / "pg_control",
    ]
    for target in targets:
        assert target.exists(), target
        result = subprocess.run(
            ["cat", str(target)], capture_output=True, check=False, **drop_to(account)
        )
        assert result.returncode != 0, f"{target} is readable by {BROWSER_USER}"
        assert b"Permission denied" in result.stderr
    listing = subprocess.run(
        ["ls", str(stack.data_dir)], capture_output=True, check=False, **drop_to(account)
    )
    assert listing.returncode != 0, "the data dir cannot be listed"


@as_root
def test_as_root_the_executor_refuses_to_start_without_a_sandbox_unless_told() -> None:
    env = {
        "PATH": os.environ["PATH"],
        "RUNWRIGHT_NATS_URL": "nats://127.0.0.1:1",
        "RUNWRIGHT_LOG_FORMAT": "json",
    }
    refused = subprocess.run(
        [sys.executable, "-m", "runwright_executor"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2
    assert b"RUNWRIGHT_CHROMIUM_NO_SANDBOX=1" in refused.stderr
    assert b"runs as root" in refused.stderr
