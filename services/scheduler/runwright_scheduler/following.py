"""Schedules of a stored runbook that follow its published version: each occurrence runs the
version published when it fires, read from the gateway's ``published_runbooks`` view (the
library's owner publishes it; the scheduler only reads it). A pinned schedule (``<slug>@<n>``)
and one with a runbook of its own run the template the gateway built when it was saved."""

from __future__ import annotations

from typing import Any

import asyncpg
import msgspec
from runwright_proto.api.jobs import RUNBOOK_LABEL, VERSION_LABEL
from runwright_proto.commands import StepSpec
from runwright_runbook.model import action_type
from runwright_runbook.parse import RunbookInvalid, parse_runbook

PUBLISHED = (
    "SELECT version, document FROM gateway.published_runbooks WHERE workspace = $1 AND slug = $2"
)


def follows(ref: str | None) -> bool:
    return bool(ref) and "@" not in str(ref)


async def template(conn: asyncpg.Connection, row: asyncpg.Record) -> dict[str, Any] | str:
    """The row an occurrence fires from (the published version put in for a following
    schedule), or why it cannot fire."""
    fields = dict(row)
    ref = row["runbook_ref"]
    if not follows(ref):
        return fields
    found = await conn.fetchrow(PUBLISHED, row["workspace"], ref)
    if found is None:
        return f"runbook {ref} has no published version, or is archived"
    try:
        runbook = parse_runbook(found["document"])
    except RunbookInvalid as exc:  # stored only once valid: a newer rule may still refuse it
        return f"runbook {ref} version {found['version']} no longer validates: {exc}"
    steps = [
        StepSpec(ordinal=s.ordinal, description=s.description, action_type=action_type(s.action))
        for s in runbook.steps
    ]
    fields.update(
        runbook=msgspec.to_builtins(runbook),
        steps=msgspec.to_builtins(steps),
        labels={**row["labels"], RUNBOOK_LABEL: ref, VERSION_LABEL: str(found["version"])},
    )
    return fields
