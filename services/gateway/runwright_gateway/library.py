"""The runbook library's records (``gateway.runbooks``, ``gateway.runbook_versions``): stored
runbooks of a workspace and their immutable numbered versions. Every change locks the runbook's
row, so two editors racing get consecutive version numbers, never the same one."""

from __future__ import annotations

import difflib
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec
import yaml
from runwright_proto.api.jobs import (
    RESERVED_LABEL_PREFIX,
    RUNBOOK_LABEL,
    VERSION_LABEL,
    JobRequest,
)
from runwright_runbook.model import Runbook
from runwright_runbook.parse import FieldError, RunbookInvalid, load_yaml, parse_runbook

from runwright_gateway.problems import Problem, invalid, not_found
from runwright_gateway.submissions import prefixed

RESERVED_SLUGS = frozenset({"validate"})
"""Names the API's own routes use under ``/api/v1/runbooks``."""
COLUMNS = (
    "id, workspace, slug, title, created_by, created_at, latest_version, published_version,"
    " published_by, published_at, archived_at"
)


@dataclass(frozen=True)
class Content:
    """A runbook as written (``source``), parsed (``document``) and checked (``runbook``)."""

    source: str
    document: dict[str, Any]
    runbook: Runbook

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.source.encode()).hexdigest()


def content(given: str | dict[str, Any]) -> Content:
    """Parse and check a runbook; 422 naming ``runbook.<path>`` when it is not valid. YAML text
    is kept as written; a JSON object is kept as the YAML it reads as."""
    try:
        document = load_yaml(given) if isinstance(given, str) else given
        runbook = parse_runbook(document)
    except RunbookInvalid as exc:
        raise invalid([prefixed(e) for e in exc.errors]) from exc
    source = (
        given
        if isinstance(given, str)
        else yaml.safe_dump(given, sort_keys=False, allow_unicode=True)
    )
    return Content(source, document, runbook)


async def create(
    conn: asyncpg.Connection,
    *,
    workspace: str,
    slug: str,
    title: str,
    actor: str,
    body: Content,
    message: str,
) -> asyncpg.Record | None:
    """A new runbook with its version 1 (a draft); None when the slug is taken there."""
    row: asyncpg.Record | None = await conn.fetchrow(
        "INSERT INTO gateway.runbooks (id, workspace, slug, title, created_by, latest_version)"
        f" VALUES ($1, $2, $3, $4, $5, 1) ON CONFLICT DO NOTHING RETURNING {COLUMNS}",
        uuid.uuid4(),
        workspace,
        slug,
        title,
        actor,
    )
    if row is not None:
        await _insert_version(conn, row["id"], 1, body, actor, message)
    return row


async def _insert_version(
    conn: asyncpg.Connection,
    runbook_id: uuid.UUID,
    number: int,
    body: Content,
    actor: str,
    message: str,
) -> None:
    await conn.execute(
        "INSERT INTO gateway.runbook_versions (runbook_id, number, source, document,"
        " content_hash, author, message) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        runbook_id,
        number,
        body.source,
        body.document,
        body.digest,
        actor,
        message,
    )


async def find(
    conn: asyncpg.Connection | asyncpg.Pool, workspace: str, slug: str, *, lock: bool = False
) -> asyncpg.Record:
    """The workspace's runbook ``slug``; 404 when it has none (another's is not revealed)."""
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM gateway.runbooks WHERE workspace = $1 AND slug = $2"
        + (" FOR UPDATE" if lock else ""),
        workspace,
        slug,
    )
    if row is None:
        raise not_found(f"runbook {slug}")
    return row


async def every(pool: asyncpg.Pool, workspace: str, archived: bool) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        f"SELECT {COLUMNS} FROM gateway.runbooks WHERE workspace = $1"
        " AND (archived_at IS NOT NULL) = $2 ORDER BY slug",
        workspace,
        archived,
    )
    return rows


async def versions(conn: asyncpg.Connection | asyncpg.Pool, runbook_id: uuid.UUID) -> list[Any]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT number, content_hash, author, message, created_at, document"
        " FROM gateway.runbook_versions WHERE runbook_id = $1 ORDER BY number DESC",
        runbook_id,
    )
    return rows


async def version(
    conn: asyncpg.Connection | asyncpg.Pool, runbook: asyncpg.Record, number: int
) -> asyncpg.Record:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT number, content_hash, author, message, created_at, document, source"
        " FROM gateway.runbook_versions WHERE runbook_id = $1 AND number = $2",
        runbook["id"],
        number,
    )
    if row is None:
        raise not_found(f"version {number} of runbook {runbook['slug']}")
    return row


async def add_version(
    conn: asyncpg.Connection, runbook: asyncpg.Record, body: Content, actor: str, message: str
) -> tuple[int, bool]:
    """(number, made): a new draft after the latest; the same text as the latest version makes
    none (a retried request answers the version it made)."""
    if runbook["latest_version"]:
        latest = await version(conn, runbook, runbook["latest_version"])
        if latest["content_hash"] == body.digest:
            return runbook["latest_version"], False
    number = runbook["latest_version"] + 1
    await _insert_version(conn, runbook["id"], number, body, actor, message)
    await conn.execute(
        "UPDATE gateway.runbooks SET latest_version = $2 WHERE id = $1", runbook["id"], number
    )
    return number, True


async def publish(
    conn: asyncpg.Connection, runbook: asyncpg.Record, number: int, actor: str
) -> None:
    await version(conn, runbook, number)  # 404 for one that does not exist
    await conn.execute(
        "UPDATE gateway.runbooks SET published_version = $2, published_by = $3,"
        " published_at = now() WHERE id = $1",
        runbook["id"],
        number,
        actor,
    )


async def update(
    conn: asyncpg.Connection,
    runbook: asyncpg.Record,
    *,
    title: str | None,
    archived: bool | None,
    actor: str,
) -> None:
    if title is not None:
        await conn.execute(
            "UPDATE gateway.runbooks SET title = $2 WHERE id = $1", runbook["id"], title
        )
    if archived is not None:
        await conn.execute(
            "UPDATE gateway.runbooks SET archived_at = CASE WHEN $2 THEN now() END,"
            " archived_by = CASE WHEN $2 THEN $3 END WHERE id = $1",
            runbook["id"],
            archived,
            actor,
        )


def parse_ref(ref: str) -> tuple[str, int | None]:
    """``slug`` or ``slug@n`` → (slug, n or None for the published version); 422 otherwise."""
    slug, at, number = ref.partition("@")
    if not slug or (at and not number.isdigit()) or len(ref) > 80:
        raise invalid([FieldError("runbook_ref", "must be <slug> or <slug>@<version number>")])
    return slug, int(number) if at else None


async def resolve(
    pool: asyncpg.Pool, workspace: str, ref: str, field: str = "runbook_ref"
) -> tuple[str, int, dict[str, Any]]:
    """(slug, version, document) a job with ``runbook_ref`` runs: the named version, or the
    published one. A ref that names nothing runnable is a 422 naming ``field``."""
    slug, number = parse_ref(ref)
    try:
        runbook = await find(pool, workspace, slug)
    except Problem as missing:
        raise invalid([FieldError(field, f"no runbook {slug} in this workspace")]) from missing
    if runbook["archived_at"] is not None:
        raise invalid([FieldError(field, f"runbook {slug} is archived")])
    if number is None:
        number = runbook["published_version"]
        if number is None:
            raise invalid([FieldError(field, f"runbook {slug} has no published version yet")])
    try:
        row = await version(pool, runbook, number)
    except Problem as missing:
        raise invalid([FieldError(field, f"runbook {slug} has no version {number}")]) from missing
    return slug, number, row["document"]


def diff(base: asyncpg.Record, head: asyncpg.Record) -> tuple[str, list[int]]:
    """A unified diff of the two versions' text, and the ordinals of the steps that differ."""
    lines = difflib.unified_diff(
        base["source"].splitlines(keepends=True),
        head["source"].splitlines(keepends=True),
        fromfile=f"v{base['number']}",
        tofile=f"v{head['number']}",
    )
    old = base["document"].get("steps") or []
    new = head["document"].get("steps") or []
    changed = [
        i
        for i in range(max(len(old), len(new)))
        if i >= len(old) or i >= len(new) or old[i] != new[i]
    ]
    return "".join(lines), changed


async def resolved(pool: asyncpg.Pool, workspace: str, request: JobRequest) -> JobRequest:
    """The job request with its runbook: the one sent, or the stored one ``runbook_ref`` names
    (then labelled with its slug and version). Exactly one of the two; labels under
    ``runwright.`` are the gateway's to set."""
    errors = [
        FieldError(f"labels.{key}", f"labels under {RESERVED_LABEL_PREFIX} are reserved")
        for key in request.labels
        if key.startswith(RESERVED_LABEL_PREFIX)
    ]
    if request.runbook is not None and request.runbook_ref is not None:
        errors.append(FieldError("runbook_ref", "send a runbook or a runbook_ref, not both"))
    elif request.runbook is None and request.runbook_ref is None:
        errors.append(
            FieldError(
                "runbook",
                "missing required field: send a runbook, or name a stored one in runbook_ref",
            )
        )
    if errors:
        raise invalid(errors)
    if request.runbook_ref is None:
        return request
    slug, number, document = await resolve(pool, workspace, request.runbook_ref)
    labels = {**request.labels, RUNBOOK_LABEL: slug, VERSION_LABEL: str(number)}
    return msgspec.structs.replace(request, runbook=document, labels=labels)


RECENT = """
SELECT r.slug, j.id, j.status, j.created_at,
       (EXTRACT(EPOCH FROM (j.finished_at - j.started_at)) * 1000)::bigint AS duration_ms
  FROM unnest($2::text[]) AS r(slug)
  CROSS JOIN LATERAL (
      SELECT id, status, created_at, started_at, finished_at FROM queue.jobs
       WHERE workspace = $1 AND labels @> jsonb_build_object('runwright.runbook', r.slug)
       ORDER BY created_at DESC LIMIT 20
  ) AS j
 ORDER BY r.slug, j.created_at DESC
"""


async def recent_runs(
    pool: asyncpg.Pool, workspace: str, slugs: list[str]
) -> dict[str, list[asyncpg.Record]]:
    """Each runbook's last 20 runs, newest first, in one query."""
    found: dict[str, list[asyncpg.Record]] = {slug: [] for slug in slugs}
    if slugs:
        for row in await pool.fetch(RECENT, workspace, slugs):
            found[row["slug"]].append(row)
    return found
