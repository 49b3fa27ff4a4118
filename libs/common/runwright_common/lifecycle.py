"""Running a service: ``run(main)`` for ``python -m``, and a stop event set by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from runwright_common.errors import SettingsError, StartupRefused
from runwright_common.logging import get_logger


def stop_event() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT: the service stops taking work and drains."""
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, event.set)
    return event


def run(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    try:
        import uvloop

        uvloop.run(main())
    except SettingsError as exc:
        # Logging is not configured yet (its settings are what failed): the line is written
        # here, as JSON when that is what the operator asked for.
        if os.environ.get("RUNWRIGHT_LOG_FORMAT", "").strip().lower() == "json":
            line = json.dumps({"event": "configuration error", "error": str(exc), "level": "error"})
        else:
            line = f"configuration error: {exc}"
        print(line, file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from exc
    except StartupRefused as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(3) from exc
    except KeyboardInterrupt:
        pass  # Ctrl-C in a terminal: the service has drained; nothing to report
    except Exception as exc:
        # A crash is one (JSON) line with its traceback, not Python's bare traceback.
        get_logger("runwright").exception("service stopped by an error")
        raise SystemExit(1) from exc
