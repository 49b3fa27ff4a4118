"""The executor's account started by ``make run`` as root: dropped to that account and its
groups, dying with the supervisor, and allowed to raise its own threads as far as Chromium asks
(nice -8) and no further."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runwright_stack import priority
from runwright_stack.accounts import system_account
from runwright_stack.stack import BROWSER_USER

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root starts the browser account")

PARENT = """
import sys, time
from runwright_stack import priority
from runwright_stack.accounts import system_account
from runwright_stack.processes import spawn
from pathlib import Path
account = system_account(sys.argv[1])
argv = priority.as_account(["sleep", "120"], account, priority.available())
child = spawn(argv, env={"PATH": "/usr/bin:/bin"}, log=Path(sys.argv[2]))
print(child.pid, flush=True)
time.sleep(120)
"""


def status(pid: int) -> dict[str, str]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: v.strip() for k, v in (line.split(":", 1) for line in text.splitlines())}


def test_the_account_may_raise_to_nice_minus_8_and_dies_with_its_supervisor(
    tmp_path: Path,
) -> None:
    account = system_account(BROWSER_USER)
    if account is None or priority.available() == "none":
        pytest.skip("no browser account or no way to grant priorities here")
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, BROWSER_USER, str(tmp_path / "child.log")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    try:
        time.sleep(0.3)  # the child has run setpriv and is sleeping as the account
        info = status(pid)
        assert info["Uid"].split()[0] == str(account.uid)
        assert set(info["Groups"].split()) == {str(account.shared_gid)}
        if priority.available() == "rlimit":
            limits = Path(f"/proc/{pid}/limits").read_text()
            assert any(
                line.startswith("Max nice priority") and " 28 " in line
                for line in limits.splitlines()
            )
            assert int(info["CapEff"], 16) == 0
        else:
            assert int(info["CapAmb"], 16) == 1 << priority.CAP_SYS_NICE, "that one, no other"
            assert int(info["CapEff"], 16) == 1 << priority.CAP_SYS_NICE
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and "Z" not in status(pid).get("State", "Z"):
        assert time.monotonic() < deadline, "the child outlived its supervisor"
        time.sleep(0.05)
