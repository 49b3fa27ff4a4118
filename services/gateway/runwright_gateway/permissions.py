"""Who may do what: the one table stating the role every API operation needs.

Roles rank Viewer < Member < Developer < Admin < Owner within a workspace. A Viewer reads everything
in its workspace and changes nothing (auditors); a Member runs jobs and decides approvals; a
Developer also edits runbooks and schedules; an Admin also manages members, keys, webhooks and
settings; an Owner also manages Owners. ``INSTALLATION`` is above every workspace role: only the
installation's admin token holds it (creating workspaces).

The guard (``auth.authorize``) looks each request's route up here and refuses what is not listed, so
an endpoint added without a rule answers 403 to everyone; a test walks the OpenAPI document and
fails on any operation missing from this table. The README's permission table is printed from it
(``python -m runwright_gateway.permissions``).
"""

from __future__ import annotations

import enum
import re
import sys


class Role(enum.IntEnum):
    VIEWER = 1
    MEMBER = 2
    DEVELOPER = 3
    ADMIN = 4
    OWNER = 5
    INSTALLATION = 6

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def named(cls, name: str) -> Role:
        return cls[name.upper()]


MEMBERSHIP_ROLES = ("owner", "admin", "developer", "member", "viewer")
"""The roles a key or a membership may hold (``installation`` is the admin token's alone)."""

PUBLIC = None
"""No credential needed (health probes; accepting an invitation, whose token is the credential)."""

V, M, D, A, OWN, INST = (
    Role.VIEWER,
    Role.MEMBER,
    Role.DEVELOPER,
    Role.ADMIN,
    Role.OWNER,
    Role.INSTALLATION,
)

RULES: dict[tuple[str, str], Role | None] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    # Jobs: everyone in the workspace reads them; Members submit and act on them.
    ("POST", "/api/v1/jobs"): M,
    ("GET", "/api/v1/jobs"): V,
    ("GET", "/api/v1/jobs/counts"): V,
    ("GET", "/api/v1/jobs/{job_id}"): V,
    ("POST", "/api/v1/jobs/{job_id}/{action}"): M,
    # Running again is submitting again; comparing runs is reading them.
    ("POST", "/api/v1/jobs/{job_id}/rerun"): M,
    ("POST", "/api/v1/batches/{batch_id}/rerun"): M,
    ("GET", "/api/v1/jobs/{job_id}/compare"): V,
    # The approval dialog: who may decide (the runbook's approver policy decides approve,
    # reject and skip beyond the Member rule above).
    ("GET", "/api/v1/jobs/{job_id}/approval"): V,
    ("GET", "/api/v1/jobs/{job_id}/report"): V,
    ("GET", "/api/v1/jobs/{job_id}/report.md"): V,
    ("GET", "/api/v1/jobs/{job_id}/events"): V,
    ("GET", "/api/v1/jobs/{job_id}/artifacts"): V,
    ("GET", "/api/v1/artifacts/{artifact_id}"): V,
    ("GET", "/api/v1/batches/{batch_id}"): V,
    ("GET", "/api/v1/events"): V,
    # Checking a runbook changes nothing.
    ("POST", "/api/v1/runbooks/validate"): V,
    # Stored runbooks: Developers write and publish versions, everyone reads them (Members run
    # them with runbook_ref), Admins archive.
    ("POST", "/api/v1/runbooks"): D,
    ("GET", "/api/v1/runbooks"): V,
    ("GET", "/api/v1/runbooks/{slug}"): V,
    ("PATCH", "/api/v1/runbooks/{slug}"): D,
    ("DELETE", "/api/v1/runbooks/{slug}"): A,
    ("POST", "/api/v1/runbooks/{slug}/versions"): D,
    ("GET", "/api/v1/runbooks/{slug}/versions/{number}"): V,
    ("POST", "/api/v1/runbooks/{slug}/versions/{number}/publish"): D,
    ("GET", "/api/v1/runbooks/{slug}/versions/{base}/diff/{head}"): V,
    # Schedules start jobs unattended: Developers set them up.
    ("POST", "/api/v1/schedules"): D,
    ("GET", "/api/v1/schedules"): V,
    ("GET", "/api/v1/schedules/{schedule_id}"): V,
    ("PATCH", "/api/v1/schedules/{schedule_id}"): D,
    ("DELETE", "/api/v1/schedules/{schedule_id}"): D,
    ("GET", "/api/v1/schedules/{schedule_id}/occurrences"): V,
    # Webhooks send the workspace's events elsewhere: a setting, for Admins.
    ("POST", "/api/v1/webhooks"): A,
    ("GET", "/api/v1/webhooks"): V,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): A,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): A,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): V,
    ("POST", "/api/v1/webhooks/{webhook_id}/test"): A,
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): A,
    # Keys act for the workspace: Admins issue and revoke them (never above their own role).
    ("POST", "/api/v1/keys"): A,
    ("GET", "/api/v1/keys"): A,
    ("DELETE", "/api/v1/keys/{key_id}"): A,
    # Workspaces: anyone signed in lists those they belong to; an Owner (a person, who owns the
    # new one) or the installation makes new ones.
    ("GET", "/api/v1/workspaces"): V,
    ("POST", "/api/v1/workspaces"): OWN,
    ("GET", "/api/v1/workspaces/current"): V,
    # A workspace's settings (its name, whether publishing needs an Admin): Admins.
    ("PATCH", "/api/v1/workspaces/current"): A,
    # Executors are shared by every workspace: the installation sets each one's share.
    ("GET", "/api/v1/workspaces/current/limits"): V,
    ("PUT", "/api/v1/workspaces/current/limits"): INST,
    # The audit log: auditors are Viewers, who read everything in their workspace.
    ("GET", "/api/v1/audit"): V,
    # Oneself: anyone signed in sees who they are, changes their password, signs out everywhere.
    ("GET", "/api/v1/me"): V,
    ("PATCH", "/api/v1/me"): V,
    ("POST", "/api/v1/me/password"): V,
    ("DELETE", "/api/v1/me/sessions"): V,
    # People: everyone sees the team; Admins invite, change roles and remove (Owners for Owners).
    ("GET", "/api/v1/members"): V,
    ("PATCH", "/api/v1/members/{user_id}"): A,
    ("DELETE", "/api/v1/members/{user_id}"): A,
    ("POST", "/api/v1/invitations"): A,
    ("GET", "/api/v1/invitations"): V,
    ("POST", "/api/v1/invitations/{invitation_id}/resend"): A,
    ("DELETE", "/api/v1/invitations/{invitation_id}"): A,
    # The invitation's token is the credential.
    ("POST", "/api/v1/invitations/accept"): PUBLIC,
    # Slack calls it: its signing secret is the credential, then the linked person's role.
    ("POST", "/api/v1/integrations/slack/interactions"): PUBLIC,
}
"""(method, path as the OpenAPI document writes it) -> the least role that may call it."""

_PARAM = re.compile(r"\{(\w+):[^}]*\}")


def template(path_template: str) -> str:
    """Litestar's route template (``/api/v1/jobs/{job_id:str}``) as the document writes it."""
    path = _PARAM.sub(r"{\1}", path_template)
    return path.rstrip("/") or "/"


def required(method: str, path_template: str) -> tuple[bool, Role | None]:
    """(whether a rule exists, the role it needs: ``None`` for public)."""
    key = ("GET" if method == "HEAD" else method, template(path_template))
    if key not in RULES:
        return False, None
    return True, RULES[key]


def markdown() -> str:
    """The permission table for the README."""
    lines = ["| operation | least role |", "|---|---|"]
    for (method, path), role in RULES.items():
        lines.append(f"| `{method} {path}` | {'anyone' if role is None else role.label} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
