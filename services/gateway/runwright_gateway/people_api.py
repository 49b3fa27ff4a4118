"""``/api/v1/me``, ``/api/v1/members`` and ``/api/v1/invitations``: who is signed in, the people of
a workspace and their roles, and the invitations that bring people in.

The rules for roles: nobody gives a role above their own (a key's creator, an inviter, an Admin
changing a role); only an Owner makes, changes or removes an Owner; the last Owner of a workspace
stays one. Removing a person ends their console sessions at once.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, delete, get, patch, post
from runwright_proto.api.identity import (
    AcceptedView,
    AcceptRequest,
    InvitationList,
    InvitationRequest,
    InvitationView,
    MemberList,
    MemberView,
    MeView,
    PasswordChange,
    RoleChange,
    SessionsEnded,
    UserView,
)
from runwright_runbook.parse import FieldError

from runwright_gateway import (
    approvals_api,
    audit,
    auth,
    invitation_mail,
    passwords,
    people,
    sessions,
    throttle,
)
from runwright_gateway import workspaces as workspace_rows
from runwright_gateway.auth import Principal, authorize, principal
from runwright_gateway.docs import SECURITY
from runwright_gateway.identity_api import workspace_view
from runwright_gateway.permissions import MEMBERSHIP_ROLES, Role
from runwright_gateway.problems import Problem, conflict, invalid, not_found
from runwright_gateway.responses import problems


def user_view(row: asyncpg.Record) -> UserView:
    return UserView(id=str(row["id"]), email=row["email"], name=row["name"])


def granted(who: Principal, name: str, field: str = "role") -> Role:
    """The role ``name`` names, if ``who`` may give it: never above their own."""
    if name not in MEMBERSHIP_ROLES:
        raise invalid([FieldError(field, f"must be one of {', '.join(MEMBERSHIP_ROLES)}")])
    role = Role.named(name)
    if role > who.role:
        raise Problem(
            403,
            "Forbidden",
            f"{field}: you may give at most your own role ({who.role.label}), not {role.label}",
            code="role_too_high",
            errors=[FieldError(field, f"at most {who.role.label}")],
        )
    return role


def person_only(who: Principal) -> UUID:
    if who.user_id is None:
        raise Problem(
            403,
            "Forbidden",
            "only a person signed in with a password has one (this is an API key or the"
            " admin token)",
            code="not_a_person",
        )
    return who.user_id


class MeController(Controller):
    path = "/api/v1/me"
    guards = [authorize]
    security = SECURITY

    @get("/", responses=problems())
    async def me(self, request: Request[Any, Any, Any]) -> MeView:
        """Who the credential is, the workspace this request acts in, the role there, and every
        workspace it may name with ``X-Workspace``."""
        who, pool = principal(request), request.app.state.pool
        user = None if who.user_id is None else await people.by_id(pool, who.user_id)
        if who.user_id is not None:
            spaces = [
                workspace_view(row, Role.named(row["role"]))
                for row in await people.memberships(pool, who.user_id)
            ]
        elif who.role is Role.INSTALLATION:
            spaces = [workspace_view(row, who.role) for row in await workspace_rows.every(pool)]
        else:
            row = await workspace_rows.one(pool, who.workspace)
            spaces = [] if row is None else [workspace_view(row, who.role)]
        return MeView(
            actor=who.actor,
            user=None if user is None else user_view(user),
            workspace=who.workspace,
            role="owner" if who.role is Role.INSTALLATION else who.role.label,
            workspaces=spaces,
        )

    @patch("/", responses=problems(409))
    async def update_me(
        self, request: Request[Any, Any, Any], data: approvals_api.SlackLink
    ) -> approvals_api.SlackLinked:
        """Link the signed-in person's Slack user id (``{"slack_user_id": "U123"}``; null
        unlinks): Slack's Approve and Reject buttons then decide as them."""
        who = principal(request)
        user_id = person_only(who)
        await approvals_api.link_slack(request.app.state.pool, user_id, data.slack_user_id)
        return approvals_api.SlackLinked(slack_user_id=data.slack_user_id)

    @post("/password", status_code=200, responses=problems(429))
    async def change_password(
        self, request: Request[Any, Any, Any], data: PasswordChange
    ) -> SessionsEnded:
        """Change the signed-in person's password: every other session of theirs ends."""
        who, pool = principal(request), request.app.state.pool
        user_id = person_only(who)
        user = await people.by_id(pool, user_id)
        assert user is not None
        rules, source = auth.limits(request), auth.source(request)
        await throttle.check(pool, rules, user["email"], source)
        if not await passwords.matches(user["password_hash"], data.current_password):
            await throttle.failed(pool, rules, user["email"], source)
            raise invalid([FieldError("current_password", "is not the password")])
        errors = passwords.problems(data.new_password, user["email"], "new_password")
        if errors:
            raise invalid(errors)
        hashed = await passwords.hashed(data.new_password)
        async with pool.acquire() as conn, conn.transaction():
            await people.set_password(conn, user_id, hashed)
            ended = await sessions.end_all(conn, user_id, "password changed", keep=who.session)
        return SessionsEnded(ended=ended)

    @delete("/sessions", status_code=200, responses=problems())
    async def sign_out_everywhere(self, request: Request[Any, Any, Any]) -> SessionsEnded:
        """End every console session of the signed-in person, this one too (for a key's or the
        admin token's session: this one)."""
        who, pool = principal(request), request.app.state.pool
        if who.user_id is not None:
            return SessionsEnded(
                ended=await sessions.end_all(pool, who.user_id, "signed out everywhere")
            )
        if who.session is not None:
            await sessions.end(pool, who.session)
            return SessionsEnded(ended=1)
        return SessionsEnded(ended=0)


def member_view(row: asyncpg.Record) -> MemberView:
    return MemberView(
        user_id=str(row["user_id"]),
        email=row["email"],
        name=row["name"],
        role=row["role"],
        workspace=row["workspace"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        sessions=row["sessions"],
    )


def owner_rule(who: Principal, current: str, wanted: str | None = None) -> None:
    if who.role >= Role.OWNER:
        return
    if current == "owner" or wanted == "owner":
        raise Problem(
            403, "Forbidden", "only an Owner changes or removes an Owner", code="owners_only"
        )


async def last_owner_guard(conn: asyncpg.Connection, workspace: str, current: str) -> None:
    if current == "owner" and await people.owners(conn, workspace) <= 1:
        raise conflict("role", "the workspace's last Owner stays one: make another Owner first")


async def locked_member(conn: asyncpg.Connection, workspace: str, user_id: UUID) -> asyncpg.Record:
    """The member's row, locked for the change; 404 when there is none."""
    row = await conn.fetchrow(
        "SELECT role FROM gateway.memberships WHERE workspace = $1 AND user_id = $2 FOR UPDATE",
        workspace,
        user_id,
    )
    if row is None:
        raise not_found(f"member {user_id}")
    return row


class MembersController(Controller):
    path = "/api/v1/members"
    guards = [authorize]
    security = SECURITY

    @get("/", responses=problems())
    async def list_members(self, request: Request[Any, Any, Any]) -> MemberList:
        """The workspace's people, earliest first, with their roles and live session counts."""
        rows = await people.members(request.app.state.pool, principal(request).workspace)
        return MemberList(items=[member_view(row) for row in rows])

    @patch("/{user_id:str}", responses=problems(404, 409))
    async def change_role(
        self, request: Request[Any, Any, Any], user_id: UUID, data: RoleChange
    ) -> MemberView:
        """Give a member another role (no higher than your own; Owners only for Owners)."""
        who, pool = principal(request), request.app.state.pool
        role = granted(who, data.role)
        audit.note(request, target=str(user_id), detail={"role": role.label})
        async with pool.acquire() as conn, conn.transaction():
            row = await locked_member(conn, who.workspace, user_id)
            owner_rule(who, row["role"], role.label)
            if role is not Role.OWNER:
                await last_owner_guard(conn, who.workspace, row["role"])
            await conn.execute(
                "UPDATE gateway.memberships SET role = $3 WHERE workspace = $1 AND user_id = $2",
                who.workspace,
                user_id,
                role.label,
            )
        found = await people.member(pool, who.workspace, user_id)
        assert found is not None
        return member_view(found)

    @delete("/{user_id:str}", status_code=204, responses=problems(404, 409))
    async def remove(self, request: Request[Any, Any, Any], user_id: UUID) -> None:
        """Remove a person from the workspace; their console sessions end at once."""
        who, pool = principal(request), request.app.state.pool
        audit.note(request, target=str(user_id))
        async with pool.acquire() as conn, conn.transaction():
            row = await locked_member(conn, who.workspace, user_id)
            owner_rule(who, row["role"])
            await last_owner_guard(conn, who.workspace, row["role"])
            await conn.execute(
                "DELETE FROM gateway.memberships WHERE workspace = $1 AND user_id = $2",
                who.workspace,
                user_id,
            )
            await sessions.end_all(conn, user_id, f"removed from {who.workspace}")


def invitation_view(
    row: asyncpg.Record, *, link: str | None = None, mailed: bool = False
) -> InvitationView:
    return InvitationView(
        id=str(row["id"]),
        workspace=row["workspace"],
        email=row["email"],
        role=row["role"],
        status=row["status"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        expires_at=row["expires_at"],
        accepted_at=row["accepted_at"],
        cancelled_at=row["cancelled_at"],
        mailed=mailed,
        link=None if mailed else link,
    )


def accept_link(request: Request[Any, Any, Any], token: str) -> str:
    """The console's page for the invitation; the token rides in the fragment, which browsers
    never send, so it stays out of request lines, proxies' logs and Referer headers."""
    base = request.app.state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/console/accept#token={token}"


async def deliver(
    request: Request[Any, Any, Any], row: asyncpg.Record, token: str
) -> InvitationView:
    link = accept_link(request, token)
    mailed = await invitation_mail.send(
        request.app.state.settings, row["email"], row["workspace"], row["role"], link
    )
    return invitation_view(row, link=link, mailed=mailed)


class InvitationsController(Controller):
    path = "/api/v1/invitations"
    guards = [authorize]
    security = SECURITY

    @post("/", status_code=201, responses=problems(409))
    async def invite(
        self, request: Request[Any, Any, Any], data: InvitationRequest
    ) -> Response[InvitationView]:
        """Invite an e-mail address with a role (no higher than your own). The link is valid 7
        days; it is mailed when SMTP is configured and otherwise in this answer (``link``).
        Inviting an address with an open invitation renews that one."""
        who, pool = principal(request), request.app.state.pool
        role = granted(who, data.role)
        email = data.email.strip()
        audit.note(request, detail={"email": email, "role": role.label})
        user = await people.by_email(pool, email)
        if user is not None and await people.member(pool, who.workspace, user["id"]):
            raise conflict("email", f"{email} is a member of {who.workspace} already")
        token, row = await people.invite(
            pool, workspace=who.workspace, email=email, role=role.label, by=who.actor
        )
        audit.note(request, target=str(row["id"]))
        view = await deliver(request, row, token)
        return Response(view, status_code=201, headers={"Location": f"{self.path}/{row['id']}"})

    @get("/", responses=problems())
    async def list_invitations(self, request: Request[Any, Any, Any]) -> InvitationList:
        """The workspace's invitations, newest first, with their status."""
        rows = await people.invitations(request.app.state.pool, principal(request).workspace)
        return InvitationList(items=[invitation_view(row) for row in rows])

    @post("/{invitation_id:str}/resend", status_code=200, responses=problems(404, 409))
    async def resend(self, request: Request[Any, Any, Any], invitation_id: UUID) -> InvitationView:
        """A new link for an invitation not yet accepted or cancelled, valid 7 days from now; the
        old link stops working."""
        who, pool = principal(request), request.app.state.pool
        row = await people.invitation(pool, who.workspace, invitation_id)
        if row is None:
            raise not_found(f"invitation {invitation_id}")
        granted(who, row["role"])
        token = await people.resend(pool, who.workspace, invitation_id)
        if token is None:
            raise conflict("status", f"the invitation is {row['status']}")
        fresh = await people.invitation(pool, who.workspace, invitation_id)
        assert fresh is not None
        return await deliver(request, fresh, token)

    @delete("/{invitation_id:str}", status_code=204, responses=problems(404, 409))
    async def cancel(self, request: Request[Any, Any, Any], invitation_id: UUID) -> None:
        """Cancel an invitation: its link stops working. Again is a no-op; an accepted one is
        409 (remove the member instead)."""
        who = principal(request)
        row = await people.cancel(request.app.state.pool, who.workspace, invitation_id, who.actor)
        if row is None:
            raise not_found(f"invitation {invitation_id}")
        if row["status"] == "accepted":
            raise conflict("status", "the invitation was accepted; remove the member instead")

    @post("/accept", status_code=200, responses=problems(404, 429))
    async def accept(
        self, request: Request[Any, Any, Any], data: AcceptRequest
    ) -> Response[AcceptedView]:
        """Accept an invitation with its link's token (no other credential): a new account is
        made with ``password`` (and ``name``), or, for an address that has an account, its
        password is checked. Answers the membership and signs the browser in."""
        if why := auth.cross_site(request):
            raise Problem(
                403,
                "Forbidden",
                f"accepting from another site is refused: {why}",
                code="cross_site",
            )
        pool = request.app.state.pool
        rules, source = auth.limits(request), auth.source(request)
        await throttle.check(pool, rules, None, source)
        async with pool.acquire() as conn, conn.transaction():
            invitation = await people.open_invitation(conn, data.token.strip())
            if invitation is None:
                await throttle.failed(pool, rules, None, source)
                raise not_found("an open invitation with this token")
            email = invitation["email"]
            audit.note(
                request,
                actor="anonymous",
                workspace=invitation["workspace"],
                target=str(invitation["id"]),
                detail={"email": email},
            )
            user = await people.by_email(conn, email)
            if user is None:
                errors = passwords.problems(data.password, email)
                if errors:
                    raise invalid(errors)
                name = (data.name or "").strip() or email
                user = await people.create_user(
                    conn, email, name, await passwords.hashed(data.password)
                )
            else:
                await throttle.check(pool, rules, email, source)
                if not await passwords.matches(user["password_hash"], data.password):
                    await throttle.failed(pool, rules, email, source)
                    raise invalid([FieldError("password", "is not this account's password")])
            await people.join(conn, invitation, user["id"])
        audit.note(request, actor=f"user:{user['email']}")
        cookie = await sessions.begin(
            request, user_id=user["id"], workspace=invitation["workspace"]
        )
        membership = await people.role_in(pool, user["id"], invitation["workspace"])
        assert membership is not None
        view = AcceptedView(
            workspace=invitation["workspace"], role=membership["role"], user=user_view(user)
        )
        return Response(view, cookies=[cookie])
