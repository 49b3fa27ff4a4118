"""Running the ``runwright`` command as a real subprocess against the test stack's gateway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUNWRIGHT = Path(sys.executable).parent / "runwright"


def runwright(
    *args: str, cwd: Path, api: str | None = None, token: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``runwright ARGS`` in ``cwd``, output captured; the gateway and token, when given, in the
    environment (``RUNWRIGHT_API``, ``RUNWRIGHT_TOKEN``), else not set at all."""
    env = dict(os.environ, COLUMNS="200", PYTHONIOENCODING="utf-8")
    for name in ("RUNWRIGHT_API", "RUNWRIGHT_TOKEN", "RUNWRIGHT_DATA_DIR"):
        env.pop(name, None)
    env.update({"RUNWRIGHT_API": api} if api else {})
    env.update({"RUNWRIGHT_TOKEN": token} if token else {})
    return subprocess.run(
        [str(RUNWRIGHT), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
