"""`runwright run` (what `make run` starts): comes up, runs the README's example, stops cleanly on
SIGTERM leaving no process behind, and a second start reuses the data."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from runwright_stack.ports import free_port
from support.stack import new_data_dir

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
RUNWRIGHT = Path(sys.executable).parent / "runwright"


def readme_snippet() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- submit-example -->\n```sh\n(.*?)```", text, re.S)
    assert block, "README lost its submit example"
    return block.group(1)


class Running:
    def __init__(self, data_dir: Path, port: int, demo_port: int) -> None:
        self.data_dir, self.port, self.demo_port = data_dir, port, demo_port
        env = dict(
            os.environ,
            RUNWRIGHT_DATA_DIR=str(data_dir),
            RUNWRIGHT_GATEWAY_PORT=str(port),
            RUNWRIGHT_DEMO_PORT=str(demo_port),
            COLUMNS="200",
        )
        env.pop("RUNWRIGHT_ADMIN_TOKEN", None)
        self.output = data_dir.parent / f"run-{time.monotonic_ns()}.out"
        with self.output.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(RUNWRIGHT), "run"], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
            )
        deadline = time.monotonic() + 120
        while "Runwright is running" not in self.text():
            assert self.proc.poll() is None, self.text()
            assert time.monotonic() < deadline, self.text()
            time.sleep(0.1)

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        assert code == 0, self.text()


def processes_using(path: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if str(path) in cmdline or cwd.startswith(str(path)):
            found.append(f"{proc.name}: {cmdline[:120]}")
    return found


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = new_data_dir() / "data"
    yield path
    shutil.rmtree(path.parent, ignore_errors=True)


def test_run_serves_the_readme_example_stops_cleanly_and_restarts_on_the_same_data(
    data_dir: Path,
) -> None:
    port, demo = free_port(), free_port()
    first = Running(data_dir, port, demo)
    token = (data_dir / "admin-token").read_text().strip()
    assert token in first.text(), "the generated token is printed"
    script = (
        readme_snippet()
        .replace("http://127.0.0.1:8080", f"http://127.0.0.1:{port}")
        .replace(".runwright/admin-token", str(data_dir / "admin-token"))
    )
    workdir = data_dir.parent / "work"
    shutil.copytree(ROOT / "examples", workdir / "examples")
    login = workdir / "examples" / "login.yaml"
    login.write_text(login.read_text().replace("127.0.0.1:8090", f"127.0.0.1:{demo}"))
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "event: status" in result.stdout
    assert '"status":"completed"' in result.stdout.replace(" ", "")
    job_id = re.search(r'"job_id":"([0-9a-f-]{36})"', result.stdout)
    assert job_id
    first.stop()
    assert processes_using(data_dir) == []

    second = Running(data_dir, port, demo)
    try:
        job = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/jobs/{job_id.group(1)}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        assert job["status"] == "completed"
        assert "existing data" in second.text()
    finally:
        second.stop()
    assert processes_using(data_dir) == []
