"""Errors that say whether retrying can help."""

from __future__ import annotations


class RunwrightError(Exception):
    """Base of every error Runwright raises on purpose."""


class RetryableError(RunwrightError):
    """Transient: redeliver the message (nak) after ``delay_s``."""

    def __init__(self, message: str, delay_s: float = 1.0) -> None:
        super().__init__(message)
        self.delay_s = delay_s


class PermanentError(RunwrightError):
    """Retrying cannot help: terminate the message and record the failure."""


class SettingsError(RunwrightError):
    """A setting is missing or malformed; the message names the environment variable."""


class StartupRefused(RunwrightError):
    """The service must not start as things are (e.g. its database schema is not at the versions
    it knows); the message says what is wrong and what to do."""


class ServiceUnavailable(RetryableError):
    """A service that should answer over NATS did not."""
