"""``GET /api/v1/audit``: the workspace's audit log, a page at a time or exported whole (JSON
Lines, CSV).

Everything a request can get wrong is checked before the first query, and the export's first page
is read before its answer starts: once a stream has begun its status cannot change, so an error
inside it is logged and ends the stream rather than escaping into the server.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import asyncpg
import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from litestar.response import Stream
from runwright_common.logging import get_logger
from runwright_proto.api.audit import AuditEntry, AuditPage
from runwright_runbook.parse import FieldError

from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.problems import invalid
from runwright_gateway.responses import answers, problems, typed

log = get_logger("runwright.gateway.audit")

Outcome = Literal["ok", "denied", "failed"]
OUTCOMES = ("ok", "denied", "failed")
Format = Literal["json", "jsonl", "csv"]
Filter = Annotated[str | None, Parameter(max_length=200)]
MAX_ID = 2**63 - 1
EXPORT_PAGE = 500
COLUMNS = (
    "id",
    "at",
    "workspace",
    "actor",
    "action",
    "target",
    "outcome",
    "status",
    "source",
    "request_id",
    "detail",
)
MEDIA = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
"""Litestar adds ``; charset=utf-8`` to a ``text/`` type."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Query:
    workspace: str
    equal: dict[str, str] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None


def _instant(name: str, value: datetime | None, errors: list[FieldError]) -> datetime | None:
    """``value`` in UTC, or an error naming ``name``: it must carry a timezone and stay within
    the years PostgreSQL is bound with (1 to 9999) once in UTC."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors.append(FieldError(name, "must carry a timezone, e.g. 2027-01-31T00:00:00Z"))
        return None
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        errors.append(FieldError(name, "must be between years 1 and 9999 in UTC"))
        return None


def _sql(query: Query, limit: int) -> tuple[str, list[Any]]:
    args: list[Any] = [query.workspace]
    where = ["workspace = $1"]

    def add(condition: str, value: Any) -> None:
        args.append(value)
        where.append(condition.format(f"${len(args)}"))

    for column, value in query.equal.items():
        add(f"{column} = {{}}", value)
    if query.since is not None:
        add("at >= {}", query.since)
    if query.until is not None:
        add("at < {}", query.until)
    if query.before is not None:
        add("id < {}", query.before)
    args.append(limit)
    sql = (
        f"SELECT {', '.join(COLUMNS)} FROM gateway.audit WHERE {' AND '.join(where)}"
        f" ORDER BY id DESC LIMIT ${len(args)}"
    )
    return sql, args


async def fetch(pool: asyncpg.Pool, query: Query, limit: int) -> list[asyncpg.Record]:
    sql, args = _sql(query, limit)
    rows: list[asyncpg.Record] = await pool.fetch(sql, *args)
    return rows


def entry(row: asyncpg.Record) -> AuditEntry:
    return AuditEntry(**dict(row))


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one that could start a formula gets a ``'``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = msgspec.json.encode(value).decode()
    cell = str(value)
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def csv_lines(rows: list[asyncpg.Record], header: bool = False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    writer.writerows([safe_cell(row[c]) for c in COLUMNS] for row in rows)
    return out.getvalue().encode("utf-8")


def jsonl_lines(rows: list[asyncpg.Record]) -> bytes:
    return b"".join(msgspec.json.encode(entry(row)) + b"\n" for row in rows)


async def export(
    pool: asyncpg.Pool, query: Query, fmt: Format, first: list[asyncpg.Record]
) -> AsyncIterator[bytes]:
    """Every matching row, newest first, a page at a time; a failure half-way is logged and
    ends the export (the status was sent already)."""
    rows = first
    try:
        yield csv_lines(rows, header=True) if fmt == "csv" else jsonl_lines(rows)
        while len(rows) == EXPORT_PAGE:
            rows = await fetch(pool, replace(query, before=rows[-1]["id"]), EXPORT_PAGE)
            yield csv_lines(rows) if fmt == "csv" else jsonl_lines(rows)
    except Exception as exc:
        log.error(
            "audit export ended early",
            workspace=query.workspace,
            error=str(exc) or type(exc).__name__,
        )


@dataclass
class ExportFormats(Operation):
    """The document lists the export's media types beside JSON for the same 200 answer."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            text = Schema(type=OpenAPIType.STRING)
            ok.content["application/x-ndjson"] = OpenAPIMediaType(schema=text)
            ok.content["text/csv"] = OpenAPIMediaType(schema=text)


class AuditController(Controller):
    path = "/api/v1/audit"
    guards = [authorize]
    security = SECURITY

    @get(
        "/",
        operation_class=ExportFormats,
        responses=answers(
            {200: typed(AuditPage, "A page of the audit log (or, with `format`, all of it)")},
            problems(),
        ),
    )
    async def list_audit(
        self,
        request: Request[Any, Any, Any],
        actor: Filter = None,
        action: Filter = None,
        target: Filter = None,
        outcome: Outcome | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        before: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        format: Format = "json",
    ) -> Response[Any]:
        """The workspace's audit log, newest first: one entry for each request that changed
        something (or was refused), and one for each job status change a service made by itself
        (actor ``system``, ``scheduler`` or ``queue``: a timeout, a run time reached, an executor
        lost; ``status`` 0, no HTTP answer). Filter by ``actor``, ``action``, ``target``,
        ``outcome`` (ok, denied, failed) and time (``since`` inclusive, ``until`` exclusive,
        both with a timezone); page with ``before`` (the answer's ``next_before``).
        ``format=jsonl`` or ``csv`` downloads every matching entry instead of a page (``limit``
        does not apply)."""
        errors: list[FieldError] = []
        given = request.query_params.get("outcome")
        if given is not None and given not in OUTCOMES:
            # Litestar reads ``null`` as no value; here it is a wrong one.
            errors.append(FieldError("outcome", f"must be one of {', '.join(OUTCOMES)}"))
        start = _instant("since", since, errors)
        end = _instant("until", until, errors)
        if errors:
            raise invalid(errors)
        equal = {
            column: value
            for column, value in (
                ("actor", actor),
                ("action", action),
                ("target", target),
                ("outcome", outcome),
            )
            if value is not None
        }
        query = Query(principal(request).workspace, equal, start, end, before)
        pool = request.app.state.pool
        if format == "json":
            rows = await fetch(pool, query, limit + 1)
            more = len(rows) > limit
            items = [entry(row) for row in rows[:limit]]
            page = AuditPage(items=items, next_before=items[-1].id if more else None)
            return Response(page)
        first = await fetch(pool, query, EXPORT_PAGE)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"audit-{query.workspace}-{stamp}.{format}"
        return Stream(
            export(pool, query, format, first),
            media_type=MEDIA[format],
            headers={
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",
            },
        )
