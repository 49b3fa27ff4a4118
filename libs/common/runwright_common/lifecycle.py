"""Running a service: ``run(main)`` for ``python -m``, and a stop event set by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from runwright_common.errors import SettingsError, StartupRefused


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
        print(f"configuration error: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from exc
    except StartupRefused as exc:
        print(f"refusing to start: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(3) from exc
    except KeyboardInterrupt:
        pass
