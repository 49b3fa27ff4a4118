"""Writes ``deploy/postgres/roles.sql`` (and its copy for kustomize) from ``runwright_db.roles``
(``make proto``), or checks that they are current (``--check``, ``make check-proto``). Passwords
are psql variables: ``psql -v queue_password=... -f roles.sql``."""

from __future__ import annotations

import sys
from pathlib import Path

from runwright_db.roles import provision_sql

FILES = (Path("deploy/postgres/roles.sql"), Path("deploy/k8s/base/postgres-roles.sql"))
"""Compose mounts the first; kustomize may only read files under deploy/k8s, hence the copy."""


def main(argv: list[str]) -> int:
    text = provision_sql(lambda service: f":'{service}_password'")
    if "--check" in argv:
        stale = [str(f) for f in FILES if not f.exists() or f.read_text() != text]
        if stale:
            sys.stderr.write(f"{', '.join(stale)} stale: run `make proto`\n")
            return 1
        return 0
    for file in FILES:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
