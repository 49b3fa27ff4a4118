"""``/api/v1/workspaces/current/limits``: a workspace's concurrency limit and queue cap. The queue
service owns them (``queue.workspace_limits``) and applies them where it admits and claims jobs;
the gateway reads the table and asks the queue for every change. Everyone in the workspace reads
them; only the installation sets them, since executors are shared by every workspace."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, put
from runwright_bus import request as nats_request
from runwright_proto import subjects
from runwright_proto.api.identity import WorkspaceLimits, WorkspaceLimitsView
from runwright_proto.commands import SetWorkspaceLimits, WorkspaceLimitsReply

from runwright_gateway.auth import authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.responses import problems


class LimitsController(Controller):
    path = "/api/v1/workspaces/current/limits"
    guards = [authorize]
    security = SECURITY

    @get("/", responses=problems())
    async def read(self, request: Request[Any, Any, Any]) -> WorkspaceLimitsView:
        """The workspace's own limits; ``null`` means the installation's."""
        workspace = principal(request).workspace
        row = await request.app.state.pool.fetchrow(
            "SELECT * FROM queue.workspace_limits WHERE workspace = $1", workspace
        )
        if row is None:
            return WorkspaceLimitsView(
                workspace=workspace,
                concurrency=None,
                max_queued=None,
                updated_by=None,
                updated_at=None,
            )
        return WorkspaceLimitsView(
            workspace=workspace,
            concurrency=row["concurrency"],
            max_queued=row["max_queued"],
            updated_by=row["updated_by"],
            updated_at=row["updated_at"],
        )

    @put("/", responses=problems(503))
    async def write(
        self, request: Request[Any, Any, Any], data: WorkspaceLimits
    ) -> WorkspaceLimitsView:
        """Set the workspace's limits (both fields; ``null`` for the installation's). They apply
        to the next claim and the next submission; running and waiting jobs stay."""
        who, state = principal(request), request.app.state
        reply: WorkspaceLimitsReply = await nats_request(
            state.nc,
            subjects.WORKSPACE_LIMITS,
            SetWorkspaceLimits(
                workspace=who.workspace,
                concurrency=data.concurrency,
                max_queued=data.max_queued,
                actor=who.actor,
            ),
            WorkspaceLimitsReply,
            timeout=state.settings.request_timeout_s,
        )
        return WorkspaceLimitsView(
            workspace=reply.workspace,
            concurrency=reply.concurrency,
            max_queued=reply.max_queued,
            updated_by=reply.updated_by,
            updated_at=reply.updated_at,
        )
