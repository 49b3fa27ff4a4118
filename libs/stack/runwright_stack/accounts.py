"""System accounts for what must not run as root: PostgreSQL and the browser.

Run as root, the stack gives each such process a system user with a group of its own (never
root's group), plus the shared group ``runwright``, which alone may search the data directory.
Run as anyone else, every process stays that user and nothing here is needed.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

SHARED_GROUP = "runwright"


class DropTo(TypedDict, total=False):
    """``subprocess`` arguments that drop privileges (none: stay who we are)."""

    user: int
    group: int
    extra_groups: list[int]


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    shared_gid: int


def drop_to(account: Account | None) -> DropTo:
    """Arguments that run a process as ``account``: its user, its own group and the shared group
    only (root's supplementary groups are not kept); nothing when there is no account."""
    if account is None:
        return {}
    return {"user": account.uid, "group": account.gid, "extra_groups": [account.shared_gid]}


def _group(name: str) -> int:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        subprocess.run(["groupadd", "--system", name], check=True, capture_output=True)
        return grp.getgrnam(name).gr_gid


def system_account(name: str) -> Account | None:
    """The system user ``name`` (made on first use, with its own group), or None when not root."""
    if os.geteuid() != 0:
        return None
    shared = _group(SHARED_GROUP)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        gid = _group(name)
        subprocess.run(
            [
                "useradd",
                "--system",
                "--gid",
                str(gid),
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                name,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(name)
    gid = entry.pw_gid if entry.pw_gid != 0 else _group(name)
    return Account(name, entry.pw_uid, gid, shared)


def open_to_accounts(data_dir: Path, *also: Path) -> None:
    """Let the stack's accounts reach what they need and nothing more: the data directory is
    searchable (not listable, not writable) by the shared group; each directory above it, and
    above each of ``also``, gains search permission for others where it lacks it."""
    if os.geteuid() != 0:
        return
    shared = _group(SHARED_GROUP)
    mode = data_dir.stat().st_mode
    os.chown(data_dir, -1, shared)
    data_dir.chmod((stat.S_IMODE(mode) & ~(stat.S_IWGRP | stat.S_IRGRP)) | stat.S_IXGRP)
    for path in (data_dir, *also):
        for parent in path.parents if path == data_dir else [path, *path.parents]:
            current = parent.stat().st_mode
            if not current & stat.S_IXOTH:
                parent.chmod(stat.S_IMODE(current) | stat.S_IXOTH)


def private_dir(path: Path, account: Account | None) -> Path:
    """A directory only ``account`` (or, with no account, this user) may enter: mode 0700."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if account is not None:
        os.chown(path, account.uid, account.gid)
    path.chmod(0o700)
    return path
