"""Run secrets at rest: AES-256-GCM under named keys, each ciphertext bound to its job.

A key is written ``<key id>:<base64 of 32 random bytes>``. The active key seals new rows; older
keys only open rows sealed before a rotation. The associated data is the job id, so a row copied
to another job does not open.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
ACTIVE_VARIABLE = "RUNWRIGHT_SECRETS_KEY"
OLD_VARIABLE = "RUNWRIGHT_SECRETS_OLD_KEYS"
_decode = msgspec.json.Decoder(dict[str, str]).decode


class BadKey(ValueError):
    """A key setting that cannot be used; the message names the variable, never the key."""


class SecretsUnreadable(Exception):
    """A job's sealed secrets cannot be opened: its key is gone, or the row was altered."""


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


def new_key(key_id: str) -> str:
    """A fresh key in the form the settings read: ``<key id>:<base64 of 32 random bytes>``."""
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def _parse_key(text: str, variable: str) -> tuple[str, bytes]:
    key_id, sep, encoded = text.strip().partition(":")
    if not sep or not KEY_ID.fullmatch(key_id):
        raise BadKey(
            f"{variable}: expected <key id>:<base64 of {KEY_BYTES} bytes>, the key id made of "
            "letters, digits, '.', '_' or '-'"
        )
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadKey(f"{variable}: key {key_id!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise BadKey(f"{variable}: key {key_id!r} has {len(key)} bytes, not {KEY_BYTES}")
    return key_id, key


class Keyring:
    """The active key (seals) and every key that may still open a row."""

    def __init__(self, active_id: str, keys: Mapping[str, bytes]) -> None:
        if active_id not in keys:
            raise BadKey(f"{ACTIVE_VARIABLE}: the active key {active_id!r} is not in the keyring")
        self.active_id = active_id
        self._aead = {key_id: AESGCM(key) for key_id, key in keys.items()}

    @classmethod
    def parse(cls, active: str, old: str = "") -> Keyring:
        """Read the two settings; raise ``BadKey`` naming the variable at fault."""
        if not active.strip():
            raise BadKey(
                f"{ACTIVE_VARIABLE} is not set: generate a key with "
                "`python -m runwright_queue.sealing` (see the queue README)"
            )
        active_id, active_key = _parse_key(active, ACTIVE_VARIABLE)
        keys = {active_id: active_key}
        for part in filter(str.strip, old.split(",")):
            key_id, key = _parse_key(part, OLD_VARIABLE)
            if key_id in keys:
                raise BadKey(f"{OLD_VARIABLE}: key id {key_id!r} is given twice")
            keys[key_id] = key
        return cls(active_id, keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aead)

    def seal(self, job_id: UUID, secrets: Mapping[str, str]) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        plain = msgspec.json.encode(dict(secrets))
        sealed = self._aead[self.active_id].encrypt(nonce, plain, _bound_to(job_id))
        return Sealed(key_id=self.active_id, nonce=nonce, ciphertext=sealed)

    def open(self, job_id: UUID, sealed: Sealed) -> dict[str, str]:
        aead = self._aead.get(sealed.key_id)
        if aead is None:
            raise SecretsUnreadable(
                f"run secrets were sealed with key {sealed.key_id!r}, which the queue no longer "
                f"holds (add it to {OLD_VARIABLE})"
            )
        try:
            plain = aead.decrypt(sealed.nonce, sealed.ciphertext, _bound_to(job_id))
        except InvalidTag:
            raise SecretsUnreadable(
                f"run secrets do not open with key {sealed.key_id!r}: the row was altered or "
                "belongs to another job"
            ) from None
        return _decode(plain)


def _bound_to(job_id: UUID) -> bytes:
    return str(job_id).encode()


@cache
def transient() -> Keyring:
    """A keyring that lives as long as this process, for in-process callers (tests). The queue
    service passes the keyring from its settings; nothing falls back to this one."""
    return Keyring("transient", {"transient": os.urandom(KEY_BYTES)})


if __name__ == "__main__":
    import sys
    from datetime import UTC, datetime

    key_id = sys.argv[1] if len(sys.argv) > 1 else datetime.now(UTC).strftime("k%Y%m%d")
    sys.stdout.write(new_key(key_id) + "\n")
