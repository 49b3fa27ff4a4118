"""Run secrets at rest: sealed before PostgreSQL, bound to their job, readable across a key
rotation, and a job whose key is gone fails with the reason. The queue's own handlers drive a
private database on the real PostgreSQL; nothing is dispatched behind the test's back."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import msgspec
import pytest
from runwright_common.errors import SettingsError
from runwright_common.settings import load
from runwright_proto.commands import ClaimJob, ClaimReply, SubmitJob
from runwright_queue import claims, submission, vault
from runwright_queue.sealing import Keyring, new_key
from runwright_queue.settings import QueueSettings, keyring
from runwright_stack.stack import Stack
from support.database import private_database
from test_queue_invariants import command

pytestmark = pytest.mark.e2e

OLD = new_key("k-old")
NEW = new_key("k-new")


@pytest.fixture
async def pool(stack: Stack) -> AsyncIterator[asyncpg.Pool]:
    async with private_database(stack.database_url, "queue", max_size=10) as db:
        yield db


def with_secret(value: str) -> SubmitJob:
    return msgspec.structs.replace(command(), secrets={"password": value})


async def submit(pool: asyncpg.Pool, cmd: SubmitJob, keys: Keyring) -> str:
    assert (await submission.submit(pool, cmd, keys=keys)).created
    return cmd.job_id


async def claim(pool: asyncpg.Pool, keys: Keyring) -> ClaimReply:
    nudge = ClaimJob(job_id="nudge", executor_id="ex", lease_ms=30000)
    return await claims.claim(pool, nudge, keys=keys)


async def row(pool: asyncpg.Pool, job_id: str) -> asyncpg.Record | None:
    return await pool.fetchrow(
        "SELECT * FROM queue.job_secrets WHERE job_id = $1", uuid.UUID(job_id)
    )


async def test_secrets_are_stored_sealed_and_the_claim_opens_them(pool: asyncpg.Pool) -> None:
    keys = Keyring.parse(NEW)
    value = f"canary-{uuid.uuid4().hex}"
    job = await submit(pool, with_secret(value), keys)
    stored = await row(pool, job)
    assert stored is not None
    assert stored["secrets"] is None
    assert stored["key_id"] == "k-new"
    assert len(stored["nonce"]) == 12
    assert value.encode() not in stored["ciphertext"]
    granted = await claim(pool, keys)
    assert granted.granted
    assert granted.job_id == job
    assert granted.secrets == {"password": value}


async def test_rows_sealed_under_the_old_key_still_open_after_a_rotation(
    pool: asyncpg.Pool,
) -> None:
    before = await submit(pool, with_secret("sealed-before"), Keyring.parse(OLD))
    rotated = Keyring.parse(NEW, OLD)
    after = await submit(pool, with_secret("sealed-after"), rotated)
    assert (await row(pool, after))["key_id"] == "k-new"  # type: ignore[index]
    first, second = await claim(pool, rotated), await claim(pool, rotated)
    assert (first.job_id, first.secrets) == (before, {"password": "sealed-before"})
    assert (second.job_id, second.secrets) == (after, {"password": "sealed-after"})


async def test_a_job_whose_key_was_dropped_fails_with_the_reason_and_the_next_job_runs(
    pool: asyncpg.Pool,
) -> None:
    orphan = await submit(pool, with_secret("lost"), Keyring.parse(OLD))
    fine = await submit(pool, with_secret("kept"), Keyring.parse(NEW))
    granted = await claim(pool, Keyring.parse(NEW))
    assert (granted.job_id, granted.secrets) == (fine, {"password": "kept"})
    job = await pool.fetchrow(
        "SELECT status, reason FROM queue.jobs WHERE id = $1", uuid.UUID(orphan)
    )
    assert job["status"] == "failed"
    assert "run secrets cannot be read" in job["reason"]
    assert "'k-old'" in job["reason"]
    assert "RUNWRIGHT_SECRETS_OLD_KEYS" in job["reason"]
    assert await row(pool, orphan) is None


async def test_sealed_secrets_copied_to_another_job_do_not_open(pool: asyncpg.Pool) -> None:
    keys = Keyring.parse(NEW)
    source = await submit(pool, with_secret("mine"), keys)
    target = await submit(pool, command(), keys)
    await pool.execute(
        "INSERT INTO queue.job_secrets (job_id, key_id, nonce, ciphertext) "
        "SELECT $2, key_id, nonce, ciphertext FROM queue.job_secrets WHERE job_id = $1",
        uuid.UUID(source),
        uuid.UUID(target),
    )
    await pool.execute("DELETE FROM queue.job_secrets WHERE job_id = $1", uuid.UUID(source))
    assert (await claim(pool, keys)).secrets == {}, "the source job, now without secrets"
    assert (await claim(pool, keys)).reason == "nothing queued"
    reason = await pool.fetchval("SELECT reason FROM queue.jobs WHERE id = $1", uuid.UUID(target))
    assert "belongs to another job" in reason


async def test_plain_rows_from_before_the_upgrade_are_sealed_when_the_queue_starts(
    pool: asyncpg.Pool,
) -> None:
    keys = Keyring.parse(NEW)
    job = await submit(pool, command(), keys)
    await pool.execute(
        "INSERT INTO queue.job_secrets (job_id, secrets) VALUES ($1, $2)",
        uuid.UUID(job),
        {"password": "from-before"},
    )
    assert await vault.seal_legacy_rows(pool, keys) == 1
    stored = await row(pool, job)
    assert stored is not None
    assert stored["secrets"] is None
    assert stored["key_id"] == "k-new"
    assert (await claim(pool, keys)).secrets == {"password": "from-before"}


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({}, "RUNWRIGHT_SECRETS_KEY is not set"),
        ({"RUNWRIGHT_SECRETS_KEY": "no-id-here"}, "RUNWRIGHT_SECRETS_KEY: expected"),
        ({"RUNWRIGHT_SECRETS_KEY": "k1:not base64!"}, "RUNWRIGHT_SECRETS_KEY: key 'k1'"),
        ({"RUNWRIGHT_SECRETS_KEY": "k1:c2hvcnQ="}, "has 5 bytes, not 32"),
        (
            {"RUNWRIGHT_SECRETS_KEY": NEW, "RUNWRIGHT_SECRETS_OLD_KEYS": f"{OLD},k2:xx"},
            "RUNWRIGHT_SECRETS_OLD_KEYS: key 'k2'",
        ),
        (
            {"RUNWRIGHT_SECRETS_KEY": NEW, "RUNWRIGHT_SECRETS_OLD_KEYS": NEW},
            "RUNWRIGHT_SECRETS_OLD_KEYS: key id 'k-new' is given twice",
        ),
    ],
)
def test_a_bad_secrets_key_is_a_settings_error_naming_the_variable(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=named) as caught:
        keyring(load(QueueSettings, environ))
    assert NEW.split(":")[1] not in str(caught.value)


def test_the_queue_refuses_to_start_with_a_bad_key() -> None:
    env = {"RUNWRIGHT_SECRETS_KEY": "k1:c2hvcnQ=", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "runwright_queue"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert b"RUNWRIGHT_SECRETS_KEY: key 'k1' has 5 bytes" in done.stderr


def test_the_stack_keeps_its_key_in_the_data_dir_and_hands_it_to_the_queue_alone(
    stack: Stack,
) -> None:
    path = stack.data_dir / "secrets-key"
    assert path.stat().st_mode & 0o777 == 0o600
    key = path.read_text().strip()
    Keyring.parse(key)
    assert stack.secrets_key() == key, "a restart keeps the key"
    for name, child in stack.children.items():
        assert child.proc is not None
        environ = Path(f"/proc/{child.proc.pid}/environ").read_bytes().split(b"\0")
        holds = any(entry.startswith(b"RUNWRIGHT_SECRETS_KEY=") for entry in environ)
        assert holds == (name == "queue"), name
