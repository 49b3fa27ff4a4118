"""Child processes that cannot outlive the supervisor: own session, parent-death signal.

A parent-death signal (``PR_SET_PDEATHSIG``) follows the *thread* that forked the child, not the
process: the child is signalled as soon as that thread ends. So no caller's thread forks; every
child is forked by one thread of ours that ends only with the process (``_Forker``). A child that
a short-lived thread asked for (an ``asyncio.to_thread`` worker, which ends with its event loop;
a test's supervision thread) lives as long as we do, and no longer.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import queue
import signal
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent(death_signal: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, death_signal)


class _Forker:
    """The one thread that forks every child (started on first use, a daemon: it ends with the
    process, and then its children are signalled)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._work: queue.SimpleQueue[
            tuple[Callable[[], subprocess.Popen[bytes]], Future[subprocess.Popen[bytes]]]
        ] = queue.SimpleQueue()

    def run(self, start: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
        """``start()`` on the forking thread; its process, or what it raised."""
        with self._lock:
            # Not alive in a process forked from ours: that one needs a thread of its own.
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="forker", daemon=True)
                self._thread.start()
        done: Future[subprocess.Popen[bytes]] = Future()
        self._work.put((start, done))
        return done.result()

    def _loop(self) -> None:
        while True:
            start, done = self._work.get()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                done.set_result(start())
            except Exception as exc:  # the caller raises it
                done.set_exception(exc)


_forker = _Forker()


def spawn(
    argv: list[str],
    *,
    env: dict[str, str],
    log: Path,
    user: str | int | None = None,
    group: int | None = None,
    extra_groups: list[int] | None = None,
    cwd: Path | None = None,
    death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` with its output appended to ``log``, in its own session, sent
    ``death_signal`` when this process ends (whichever thread asked); ``user``/``group``/
    ``extra_groups`` drop privileges (exactly those groups, when given)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=functools.partial(_die_with_parent, death_signal),
                user=user,
                group=group,
                extra_groups=extra_groups,
                cwd=cwd,
            )

        return _forker.run(start)


def terminate(procs: list[subprocess.Popen[bytes]], grace_s: float) -> None:
    """SIGTERM each process group, wait up to ``grace_s``, then SIGKILL what is left."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace_s)
    for proc in procs:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
