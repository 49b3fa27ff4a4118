"""The installation's admin token: from ``RUNWRIGHT_ADMIN_TOKEN``, or from a file
(``RUNWRIGHT_ADMIN_TOKEN_FILE``) that ``runwright admin-token rotate`` replaces. A replaced file is
noticed within a second on every replica sharing it (a Kubernetes Secret mounted as a file is
updated in place the same way), and the console sessions signed in with the old token end: each
such session keeps a mark of the token it signed in with, never the token."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path


class AdminToken:
    def __init__(self, value: str = "", path: str = "") -> None:
        self._value, self._path = value.strip(), Path(path) if path else None
        self._stamp: tuple[int, int] | None = None
        self._checked = 0.0
        if self._path is not None:
            self._reload()

    def _reload(self) -> None:
        assert self._path is not None
        try:
            stat = self._path.stat()
            stamp = (stat.st_mtime_ns, stat.st_ino)
            if stamp != self._stamp:
                self._value, self._stamp = self._path.read_text().strip(), stamp
        except OSError:
            self._value, self._stamp = "", None  # no file: no admin token works

    def current(self) -> str:
        if self._path is not None and time.monotonic() - self._checked >= 1.0:
            self._checked = time.monotonic()
            self._reload()
        return self._value


def mark(token: str) -> bytes:
    """What an admin session keeps of the token it signed in with: enough to tell a rotated token
    from the current one, nothing to sign in with."""
    return hashlib.sha256(b"runwright admin session\0" + token.encode()).digest()[:16]
