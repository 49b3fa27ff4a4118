"""What the deployment-file tests share: the setting names Runwright knows, the credential and
private-range rules for the executor, and finding the tools (kubectl, nats-server, promtool)."""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("gateway", "queue", "executor", "scheduler", "approval", "artifact")
DATABASE_SERVICES = tuple(s for s in SERVICES if s != "executor")

KNOWN_SETTINGS = frozenset(
    {
        "RUNWRIGHT_NATS_URL",
        "RUNWRIGHT_NATS_USER",
        "RUNWRIGHT_NATS_PASSWORD",
        "RUNWRIGHT_LOG_FORMAT",
        "RUNWRIGHT_LOG_LEVEL",
        "RUNWRIGHT_HEALTH_PORT",
        "RUNWRIGHT_DATABASE_URL",
        "PGPASSWORD",
        "RUNWRIGHT_GATEWAY_HOST",
        "RUNWRIGHT_GATEWAY_PORT",
        "RUNWRIGHT_ADMIN_TOKEN",
        "RUNWRIGHT_EXECUTOR_SLOTS",
        "RUNWRIGHT_DRAIN_GRACE_S",
        "RUNWRIGHT_CHROMIUM_PATH",
        "RUNWRIGHT_EGRESS_ALLOW",
        "RUNWRIGHT_S3_ENDPOINT",
        "RUNWRIGHT_S3_ACCESS_KEY",
        "RUNWRIGHT_S3_SECRET_KEY",
        "RUNWRIGHT_S3_BUCKET",
        "RUNWRIGHT_S3_SECURE",
        "RUNWRIGHT_ARTIFACT_DIR",
        "RUNWRIGHT_SECRETS_KEY",
        "RUNWRIGHT_SECRETS_OLD_KEYS",
        # Issue 15, implemented by the code side of the issue: the replicas of every JetStream
        # stream the services create, and whether a service migrates its schema at start-up
        # (false where the one-shot `runwright migrate` runs first).
        "RUNWRIGHT_STREAM_REPLICAS",
        "RUNWRIGHT_MIGRATE_ON_START",
    }
)
# Names and values that would hand the executor a way into the database or the object store.
CREDENTIAL_NAME = re.compile(r"DATABASE|POSTGRES|PGPASS|PGUSER|PGHOST|MINIO|S3_|AWS_|ARTIFACT_DIR")
CREDENTIAL_VALUE = re.compile(r"postgres(ql)?://|minio", re.IGNORECASE)
# Where an SSRF must not land: loopback, RFC 1918, carrier-grade NAT, link-local (cloud metadata
# at 169.254.169.254), IPv6 unique-local (metadata at fd00:ec2::254), IPv4-mapped and NAT64
# addresses (both lead back into IPv4).
PRIVATE_RANGES = tuple(
    ipaddress.ip_network(n)
    for n in (
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
        "::ffff:0:0/96",
        "64:ff9b::/96",
    )
)
METADATA_ADDRESSES = tuple(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))


def find_tool(name: str) -> str | None:
    """A console tool from this interpreter's environment (venvs are not on PATH) or PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def require(module: str, package: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.fail(f"{module} not installed ({package}): run `make install`")


def tool_or_fail(name: str, package: str) -> str:
    path = find_tool(name)
    if path is None:
        pytest.fail(f"{name} not installed ({package}): run `make install`")
    return path
