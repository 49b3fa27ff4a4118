"""Passwords, kept only as argon2id hashes (RFC 9106's second recommended setting: 64 MiB, 3
passes), hashed and checked in a worker thread so a sign-in never stalls the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from runwright_runbook.errors import FieldError

HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=1)
MIN_LENGTH = 12
MAX_LENGTH = 256
"""Long enough for any passphrase; short enough that hashing one costs a bounded time."""

DUMMY = HASHER.hash("runwright: a hash to check when there is no account")
"""Checked for unknown accounts, so the answer takes as long as for a known one."""


def problems(password: str, email: str, field: str = "password") -> list[FieldError]:
    if len(password) < MIN_LENGTH:
        return [FieldError(field, f"must be at least {MIN_LENGTH} characters")]
    if len(password) > MAX_LENGTH:
        return [FieldError(field, f"must be at most {MAX_LENGTH} characters")]
    if len(set(password)) < 4:
        return [FieldError(field, "must not repeat a few characters")]
    if password.lower() == email.lower():
        return [FieldError(field, "must not be the e-mail address")]
    return []


async def hashed(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


def _matches(stored: str, given: str) -> bool:
    try:
        return HASHER.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


async def matches(stored: str | None, given: str) -> bool:
    """Whether ``given`` is the password ``stored`` hashes; with no account, a hash is still
    checked (and False answered) so the timing does not tell which accounts exist."""
    if stored is None:
        await asyncio.to_thread(_matches, DUMMY, given)
        return False
    return await asyncio.to_thread(_matches, stored, given)
