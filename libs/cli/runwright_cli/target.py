"""Which gateway the commands talk to, and with which token.

Each comes from its option, else the environment (``RUNWRIGHT_API``, ``RUNWRIGHT_TOKEN``), else the
embedded system's data directory (``RUNWRIGHT_DATA_DIR``, ``.runwright`` by default), where
``runwright run`` keeps ``admin-token`` and ``api-url``. The API falls back to
http://127.0.0.1:8080.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runwright_cli.inputs import BadInput

DEFAULT_API = "http://127.0.0.1:8080"


@dataclass(frozen=True)
class Target:
    api: str
    token: str


def data_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("RUNWRIGHT_DATA_DIR") or ".runwright")


def _stored(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def resolve(api: str | None, token: str | None, env: Mapping[str, str] = os.environ) -> Target:
    """The gateway and token to use; ``BadInput`` when there is no token anywhere."""
    stored = data_dir(env)
    chosen_api = api or env.get("RUNWRIGHT_API") or _stored(stored / "api-url") or DEFAULT_API
    chosen_token = token or env.get("RUNWRIGHT_TOKEN") or _stored(stored / "admin-token")
    if not chosen_token:
        raise BadInput(
            f"no API token: pass --token, set RUNWRIGHT_TOKEN, or run where {stored}/admin-token "
            "exists (runwright run writes it)"
        )
    return Target(api=chosen_api.rstrip("/"), token=chosen_token)
