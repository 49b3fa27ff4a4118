"""Letting the executor's browser order its own threads.

Chromium raises its compositor and IO threads to nice -8 and lowers the renderers' main threads
to 5. An unprivileged account may lower but not raise, and on a busy machine the same pages then
cost about twice the CPU (one-step jobs on two cores: 2.1 a second at 900 core-ms each as an
unprivileged account, 4.6 at 430 with the right to raise; ``make bench BENCH_ARGS=submit``).

The executor's account is given the narrowest right that does it, when we start it as root:

- ``rlimit``: ``RLIMIT_NICE`` 28, so its own processes may go down to nice -8 and no further,
  and nobody else's are touched (needs ``CAP_SYS_RESOURCE`` here to set);
- ``capability``: else ``CAP_SYS_NICE`` as an ambient capability of the browser's account (it
  also lets that account renice others' processes; the renderers, in Chromium's sandbox, do not
  hold it);
- ``none``: else nothing, and the stack says what it costs.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

from runwright_stack.accounts import Account

NICE_FLOOR = -8
"""The highest priority Chromium asks for (its display-critical threads)."""
RLIMIT = 20 - NICE_FLOOR
CAP_SYS_NICE = 23


@functools.cache
def available() -> str:
    """How this machine lets us grant it: ``rlimit``, ``capability`` or ``none``."""
    prlimit, setpriv = shutil.which("prlimit"), shutil.which("setpriv")
    if setpriv is None:
        return "none"
    if prlimit is not None:
        probe = subprocess.run(
            [prlimit, f"--nice={RLIMIT}:{RLIMIT}", "true"], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return "rlimit"
    if _holds(CAP_SYS_NICE):
        return "capability"
    return "none"


def _holds(capability: int) -> bool:
    try:
        with open("/proc/self/status") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
    except OSError:
        return False
    masks = [int(fields.get(name, "0").strip(), 16) for name in ("CapEff", "CapBnd")]
    return all(mask >> capability & 1 for mask in masks)


def as_account(argv: list[str], account: Account, how: str) -> list[str]:
    """``argv`` run as ``account`` (its user, its group and the shared group only, dying with
    us), with the right to raise its threads to ``NICE_FLOOR`` granted ``how``."""
    drop = [
        "setpriv",
        f"--reuid={account.uid}",
        f"--regid={account.gid}",
        f"--groups={account.shared_gid}",
        "--pdeathsig=SIGTERM",
    ]
    if how == "rlimit":
        return ["prlimit", f"--nice={RLIMIT}:{RLIMIT}", "--", *drop, "--", *argv]
    if how == "capability":
        return [*drop, "--inh-caps=+sys_nice", "--ambient-caps=+sys_nice", "--", *argv]
    raise ValueError(f"no way to grant thread priorities: {how}")
