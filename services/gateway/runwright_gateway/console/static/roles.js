// What the signed-in caller may do, so the console offers only the controls their role may use.
// The ranks and least roles mirror the gateway's permission table (permissions.py RULES); the
// API refuses anything else anyway, so this only decides what is shown.

export const ROLES = ["viewer", "member", "developer", "admin", "owner"];
export const ROLE_LABELS = { viewer: "Viewer", member: "Member", developer: "Developer", admin: "Admin", owner: "Owner" };
const RANK = Object.fromEntries(ROLES.map((role, index) => [role, index + 1]));

// The console's actions and the least role each needs (as RULES states for its operations).
const LEAST = {
  "job.submit": "member", // POST /api/v1/jobs
  "job.act": "member", // POST /api/v1/jobs/{id}/{action}: approve, reject, skip, pause, resume, cancel
  "schedule.edit": "developer", // POST, PATCH, DELETE /api/v1/schedules
  "runbook.edit": "developer", // POST /api/v1/runbooks, …/versions, …/publish
  "team.manage": "admin", // invitations, member roles, removing members
  "keys.manage": "admin", // GET, POST, DELETE /api/v1/keys
  "webhooks.manage": "admin", // POST, DELETE /api/v1/webhooks, …/test, …/redeliver
  "audit.read": "viewer", // GET /api/v1/audit
};

let current = null; // GET /api/v1/me's answer

export function setMe(me) {
  current = me;
}

export function me() {
  return current;
}

export function rank(role) {
  return RANK[role] || 0;
}

export function roleLabel(role) {
  return ROLE_LABELS[role] || role || "";
}

// The settings of the workspace the caller acts in (from GET /api/v1/me's workspaces).
export function workspace() {
  return current?.workspaces?.find((w) => w.slug === current.workspace) || {};
}

// Publishing a runbook version: Developers, unless the workspace asks an Admin to.
export function canPublish() {
  return can(workspace().publish_approval ? "team.manage" : "runbook.edit");
}

// Whether the caller's role may `action` (a key of LEAST). Unknown actions are never allowed.
export function can(action) {
  const least = LEAST[action];
  return Boolean(current && least && rank(current.role) >= rank(least));
}

// The roles the caller may give (to an invitation, a key or a member): never above their own.
export function grantable() {
  const own = rank(current?.role);
  return ROLES.filter((role) => rank(role) <= own).reverse();
}

// Whether the caller may change or remove this member: Admins manage members at most their own
// rank, and only an Owner changes or removes an Owner.
export function canManage(member) {
  if (!can("team.manage")) return false;
  if (member.role === "owner" && current.role !== "owner") return false;
  return rank(member.role) <= rank(current.role);
}
