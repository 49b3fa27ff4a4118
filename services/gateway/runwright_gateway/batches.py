"""``/api/v1/batches/{id}``: a batch run and how many of its jobs succeeded and failed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, get
from runwright_proto.api.jobs import BatchView

from runwright_gateway import views
from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.problems import not_found
from runwright_gateway.responses import problems


async def get_batch(pool: asyncpg.Pool, batch_id: UUID, workspace: str) -> BatchView | None:
    rows = await pool.fetch(
        f"SELECT {views.SUMMARY_COLUMNS} FROM queue.jobs j WHERE j.batch_id = $1 "
        "AND j.workspace = $2 ORDER BY j.created_at, j.id",
        batch_id,
        workspace,
    )
    if not rows:
        return None
    jobs = [views.summary(r) for r in rows]
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    done = counts.get("completed", 0) + counts.get("failed", 0) + counts.get("cancelled", 0)
    return BatchView(
        id=str(batch_id),
        total=len(jobs),
        succeeded=counts.get("completed", 0),
        failed=counts.get("failed", 0),
        cancelled=counts.get("cancelled", 0),
        active=len(jobs) - done,
        finished=done == len(jobs),
        counts=counts,
        jobs=jobs,
    )


class BatchesController(Controller):
    path = "/api/v1/batches"
    guards = [authorize]
    security = SECURITY

    @get("/{batch_id:str}", responses=problems(404))
    async def get(self, request: Request[Any, Any, Any], batch_id: UUID) -> BatchView:
        """A batch run: how many of its jobs succeeded, failed or are still going, and each job."""
        batch = await get_batch(request.app.state.pool, batch_id, principal(request).workspace)
        if batch is None:
            raise not_found(f"batch {batch_id}")
        return batch
