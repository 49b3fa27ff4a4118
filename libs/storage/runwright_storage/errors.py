"""What the artifact store raises on purpose, each saying whether retrying can help."""

from __future__ import annotations

from runwright_common.errors import PermanentError, RetryableError, RunwrightError


class StorageError(RunwrightError):
    """Base of every error the artifact store raises on purpose."""


class InvalidKey(StorageError, PermanentError, ValueError):
    """The object key is malformed or would escape the store; a caller bug, never retried."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"invalid artifact key {key[:100]!r}: {reason}")
        self.key = key


class NotFound(StorageError, PermanentError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no artifact is stored under {key!r}")
        self.key = key


class TooLarge(StorageError, PermanentError):
    """More than ``limit`` bytes arrived; nothing was kept."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(f"artifact {key!r} exceeds the limit of {limit} bytes; nothing was kept")
        self.key = key
        self.limit = limit


class StoreUnavailable(StorageError, RetryableError):
    """The object store could not be reached or failed transiently; try again later."""
