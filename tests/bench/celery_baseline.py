"""The peer queue for the submit benchmark: Redis and a Celery worker, set up by the benchmark only.

Redis comes from the system (Debian's ``redis-server``, installed with apt when missing); Celery
and its Redis client go into their own virtual environment, ``.bench/celery``, pinned by
``celery-requirements.txt``. Nothing here touches the project's environment.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from runwright_stack.ports import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
VENV = ROOT / ".bench" / "celery"
REQUIREMENTS = HERE / "celery-requirements.txt"
WORKER_PROCESSES = 8  # as many as the stack's slots (2 executors x 4)


def redis_server() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*sudo, "apt-get", "install", "-y", "-q", "redis-server"], check=True, env=env)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("redis-server is not on PATH after installing it")
    return found


def python() -> Path:
    """The benchmark's Celery environment, made (or brought up to the pins) on first use."""
    exe = VENV / "bin" / "python"
    stamp = VENV / "requirements.txt"
    if exe.exists() and stamp.exists() and stamp.read_text() == REQUIREMENTS.read_text():
        return exe
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(exe), "-m", "pip", "install", "-q", "--no-deps", "-r", str(REQUIREMENTS)], check=True
    )
    shutil.copyfile(REQUIREMENTS, stamp)
    return exe


@contextlib.contextmanager
def redis(fsync_always: bool) -> Iterator[str]:
    """A Redis on loopback; with ``fsync_always``, an append-only file synced on every write."""
    port = free_port()
    data = tempfile.mkdtemp(prefix="bench-redis-")
    durability = (
        ["--appendonly", "yes", "--appendfsync", "always"]
        if fsync_always
        else ["--appendonly", "no"]
    )
    command = [redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = subprocess.Popen(
        [*command, "--dir", data, *durability],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, 30)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(data, ignore_errors=True)


@contextlib.contextmanager
def celery(fsync_always: bool) -> Iterator[Celery]:
    exe = python()
    with redis(fsync_always) as url:
        env = {**os.environ, "PEER_REDIS_URL": url, "PYTHONPATH": str(HERE)}
        worker = subprocess.Popen(
            [
                str(exe),
                "-m",
                "celery",
                "-A",
                "celery_peer",
                "worker",
                "--concurrency",
                str(WORKER_PROCESSES),
                "--pool",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "WARNING",
            ],
            cwd=HERE,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            peer = Celery(exe, env)
            peer.ask("latency", 5)  # the worker is up and its processes are warm
            yield peer
        finally:
            worker.terminate()
            worker.wait(30)


class Celery:
    """Runs ``celery_peer.py`` modes in the Celery environment and reads their JSON."""

    def __init__(self, exe: Path, env: dict[str, str]) -> None:
        self.exe, self.env = exe, env

    def ask(self, mode: str, *numbers: int) -> dict[str, object]:
        done = subprocess.run(
            [str(self.exe), str(HERE / "celery_peer.py"), mode, *map(str, numbers)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=True,
        )
        result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
        return result
