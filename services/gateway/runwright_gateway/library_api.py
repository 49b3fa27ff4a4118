"""``/api/v1/runbooks``: the workspace's stored runbooks and their versions.

A runbook is created with its version 1 (a draft, or published at once with ``publish``); each
edit adds a numbered, immutable draft; publishing one makes it what ``runbook_ref: "<slug>"``
runs, and publishing an older one is a rollback; a diff compares any two. Archiving (``DELETE``)
keeps every version and job but takes the runbook out of new runs; ``PATCH {"archived": false}``
brings it back. Developers edit and publish, Members run, Viewers read.
"""

from __future__ import annotations

import statistics
from typing import Any

import asyncpg
from litestar import Controller, Request, Response, delete, get, patch, post
from runwright_proto.api.library import (
    RecentRun,
    RunbookCreate,
    RunbookList,
    RunbookUpdate,
    RunbookView,
    VersionCreate,
    VersionDiff,
    VersionSummary,
    VersionView,
)
from runwright_proto.jobs import TERMINAL
from runwright_runbook.parse import FieldError

from runwright_gateway import audit, library
from runwright_gateway.auth import Principal, authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.permissions import Role
from runwright_gateway.problems import Problem, conflict, invalid
from runwright_gateway.responses import problems


def summary(row: asyncpg.Record, published: int | None) -> VersionSummary:
    document = row["document"]
    return VersionSummary(
        number=row["number"],
        content_hash=row["content_hash"],
        author=row["author"],
        message=row["message"],
        created_at=row["created_at"],
        published=row["number"] == published,
        steps=len(document.get("steps") or []),
        title=str(document.get("title") or ""),
    )


def run_figures(runs: list[asyncpg.Record]) -> dict[str, Any]:
    """The last runs, the share of those that ended which completed, and their median time."""
    ended = [r for r in runs if r["status"] in TERMINAL]
    completed = [r for r in ended if r["status"] == "completed"]
    times = sorted(r["duration_ms"] for r in completed if r["duration_ms"] is not None)
    recent = [
        RecentRun(
            id=str(r["id"]),
            status=r["status"],
            created_at=r["created_at"],
            duration_ms=r["duration_ms"],
        )
        for r in runs
    ]
    return {
        "recent": recent,
        "success_rate": len(completed) / len(ended) if ended else None,
        "median_duration_ms": int(statistics.median(times)) if times else None,
    }


def runbook_view(
    row: asyncpg.Record,
    versions: list[Any] | None = None,
    runs: list[asyncpg.Record] | None = None,
) -> RunbookView:
    published = row["published_version"]
    return RunbookView(
        **run_figures(runs or []),
        slug=row["slug"],
        title=row["title"],
        workspace=row["workspace"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        latest_version=row["latest_version"],
        published_version=published,
        published_by=row["published_by"],
        published_at=row["published_at"],
        archived=row["archived_at"] is not None,
        versions=[summary(v, published) for v in versions or []],
    )


async def may_publish(conn: asyncpg.Connection, who: Principal) -> None:
    """A workspace that asks for publish approval lets only Admins (and Owners) publish."""
    asks = await conn.fetchval(
        "SELECT publish_approval FROM gateway.workspaces WHERE slug = $1", who.workspace
    )
    if asks and who.role < Role.ADMIN:
        raise Problem(
            403,
            "Forbidden",
            "this workspace asks an Admin to publish runbook versions; save a draft and ask one",
            code="publish_approval",
            required_role="admin",
        )


def not_archived(row: asyncpg.Record) -> None:
    if row["archived_at"] is not None:
        raise Problem(
            409,
            "Conflict",
            f"runbook {row['slug']} is archived: restore it first (PATCH archived: false)",
            code="archived",
        )


class LibraryController(Controller):
    path = "/api/v1/runbooks"
    guards = [authorize]
    security = SECURITY

    @post("/", status_code=201, responses=problems(409))
    async def create(self, request: Request[Any, Any, Any], data: RunbookCreate) -> Response[Any]:
        """A new runbook and its version 1 (a draft unless ``publish``)."""
        who, pool = principal(request), request.app.state.pool
        if data.slug in library.RESERVED_SLUGS:
            raise invalid([FieldError("slug", f"{data.slug} is reserved")])
        body = library.content(data.runbook)
        async with pool.acquire() as conn, conn.transaction():
            row = await library.create(
                conn,
                workspace=who.workspace,
                slug=data.slug,
                title=data.title or body.runbook.title,
                actor=who.actor,
                body=body,
                message=data.message,
            )
            if row is None:
                raise conflict("slug", f"runbook {data.slug} exists", "taken")
            if data.publish:
                await may_publish(conn, who)
                await library.publish(conn, row, 1, who.actor)
            row = await library.find(conn, who.workspace, data.slug)
            view = runbook_view(row, await library.versions(conn, row["id"]))
        audit.note(request, target=data.slug)
        return Response(view, status_code=201, headers={"Location": f"{self.path}/{data.slug}"})

    @get("/", responses=problems())
    async def list_runbooks(
        self, request: Request[Any, Any, Any], archived: bool = False
    ) -> RunbookList:
        """The workspace's runbooks by slug (``archived=true``: the archived ones)."""
        pool, workspace = request.app.state.pool, principal(request).workspace
        rows = await library.every(pool, workspace, archived)
        runs = await library.recent_runs(pool, workspace, [r["slug"] for r in rows])
        return RunbookList(items=[runbook_view(r, runs=runs[r["slug"]]) for r in rows])

    @get("/{slug:str}", responses=problems(404))
    async def get_runbook(self, request: Request[Any, Any, Any], slug: str) -> RunbookView:
        """A runbook with every version (newest first) and its last runs."""
        pool, workspace = request.app.state.pool, principal(request).workspace
        row = await library.find(pool, workspace, slug)
        runs = await library.recent_runs(pool, workspace, [slug])
        return runbook_view(row, await library.versions(pool, row["id"]), runs[slug])

    @patch("/{slug:str}", responses=problems(404))
    async def update_runbook(
        self, request: Request[Any, Any, Any], slug: str, data: RunbookUpdate
    ) -> RunbookView:
        """Rename it (``title``) or restore it (``archived: false``)."""
        who, pool = principal(request), request.app.state.pool
        if data.archived is True:
            raise invalid([FieldError("archived", "archive with DELETE (an Admin's call)")])
        async with pool.acquire() as conn, conn.transaction():
            row = await library.find(conn, who.workspace, slug, lock=True)
            await library.update(
                conn, row, title=data.title, archived=data.archived, actor=who.actor
            )
            row = await library.find(conn, who.workspace, slug)
            return runbook_view(row, await library.versions(conn, row["id"]))

    @delete("/{slug:str}", status_code=204, responses=problems(404))
    async def archive_runbook(self, request: Request[Any, Any, Any], slug: str) -> None:
        """Archive it: no new runs or versions; its versions, schedules' history and jobs stay."""
        who, pool = principal(request), request.app.state.pool
        async with pool.acquire() as conn, conn.transaction():
            row = await library.find(conn, who.workspace, slug, lock=True)
            await library.update(conn, row, title=None, archived=True, actor=who.actor)

    @post("/{slug:str}/versions", status_code=201, responses=problems(404, 409))
    async def add_version(
        self, request: Request[Any, Any, Any], slug: str, data: VersionCreate
    ) -> Response[VersionView]:
        """A new draft version (``201``); the same text as the latest version makes none and
        answers that one (``200``)."""
        who, pool = principal(request), request.app.state.pool
        body = library.content(data.runbook)
        async with pool.acquire() as conn, conn.transaction():
            row = await library.find(conn, who.workspace, slug, lock=True)
            not_archived(row)
            number, made = await library.add_version(conn, row, body, who.actor, data.message)
            stored = await library.version(conn, row, number)
        audit.note(request, target=f"{slug}@{number}")
        return Response(
            version_view(stored, row["published_version"]),
            status_code=201 if made else 200,
            headers={"Location": f"{self.path}/{slug}/versions/{number}"},
        )

    @get("/{slug:str}/versions/{number:int}", responses=problems(404))
    async def get_version(
        self, request: Request[Any, Any, Any], slug: str, number: int
    ) -> VersionView:
        """One version: its text as written, and the document it parses to."""
        pool = request.app.state.pool
        row = await library.find(pool, principal(request).workspace, slug)
        return version_view(await library.version(pool, row, number), row["published_version"])

    @post("/{slug:str}/versions/{number:int}/publish", status_code=200, responses=problems(404))
    async def publish(self, request: Request[Any, Any, Any], slug: str, number: int) -> RunbookView:
        """Make version ``number`` the one ``runbook_ref: "<slug>"`` runs (an older one: a
        rollback). Schedules that follow the runbook run it from their next occurrence."""
        who, pool = principal(request), request.app.state.pool
        async with pool.acquire() as conn, conn.transaction():
            row = await library.find(conn, who.workspace, slug, lock=True)
            not_archived(row)
            await may_publish(conn, who)
            await library.publish(conn, row, number, who.actor)
            row = await library.find(conn, who.workspace, slug)
            view = runbook_view(row, await library.versions(conn, row["id"]))
        audit.note(request, target=f"{slug}@{number}")
        return view

    @get("/{slug:str}/versions/{base:int}/diff/{head:int}", responses=problems(404))
    async def diff(
        self, request: Request[Any, Any, Any], slug: str, base: int, head: int
    ) -> VersionDiff:
        """What changed from version ``base`` to ``head``: a unified diff of their text and the
        steps that differ."""
        pool = request.app.state.pool
        row = await library.find(pool, principal(request).workspace, slug)
        old, new = await library.version(pool, row, base), await library.version(pool, row, head)
        text, steps = library.diff(old, new)
        return VersionDiff(slug=slug, base=base, head=head, diff=text, steps_changed=steps)


def version_view(row: asyncpg.Record, published: int | None) -> VersionView:
    return VersionView(
        **{f: getattr(summary(row, published), f) for f in VersionSummary.__struct_fields__},
        source=row["source"],
        document=row["document"],
    )
