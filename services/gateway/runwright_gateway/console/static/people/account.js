// The header's account area: who is signed in and their role, the workspace switcher (a
// <select> of the caller's workspaces; the choice is kept with the console session),
// "Sign out everywhere", and the nav links the role may use.
import { api, ApiError, onWorkspaceSwitched, switchWorkspace } from "../api.js";
import { can, roleLabel } from "../roles.js";
import { h, toast } from "../ui.js";
import { openNewWorkspace } from "./workspaces.js";

const area = document.getElementById("account");
const switcher = document.getElementById("workspace-switch");
const menu = document.getElementById("account-menu");
let onSwitch = () => {};
let onEnded = () => {};

switcher.addEventListener("change", async () => {
  const picked = switcher.selectedOptions[0]?.textContent || switcher.value;
  switcher.disabled = true;
  try {
    await switchWorkspace(switcher.value);
    toast(`Workspace: ${picked}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    toast(`Could not switch to ${picked}: ${error.message}`);
  }
  onSwitch();
});

// Another tab of this browser switched: this one follows, so no tab acts where it does not show.
onWorkspaceSwitched(() => onSwitch());

document.getElementById("new-workspace").addEventListener("click", () => {
  menu.open = false;
  // In the new workspace, on its Team page: the next thing an Owner does there is invite people.
  openNewWorkspace(() => {
    history.pushState(null, "", "/console/team");
    onSwitch();
  });
});

document.getElementById("sign-out-everywhere").addEventListener("click", async () => {
  try {
    const { ended } = await api("/api/v1/me/sessions", { method: "DELETE" });
    menu.open = false;
    toast(`Signed out everywhere (${ended} ${ended === 1 ? "session" : "sessions"} ended).`);
  } catch {
    /* the session may have ended already */
  }
  onEnded();
});

menu.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && menu.open) {
    menu.open = false;
    menu.querySelector("summary").focus();
  }
});

document.addEventListener("click", (event) => {
  if (menu.open && event.target instanceof Node && !menu.contains(event.target)) menu.open = false;
});

export function onAccountEvents(handlers) {
  onSwitch = handlers.onSwitch;
  onEnded = handlers.onEnded;
}

// GET /api/v1/me: the session's workspace (the server falls back to the person's first one when
// they no longer belong to the one picked).
export function loadMe() {
  return api("/api/v1/me");
}

export function paintAccount(me) {
  const who = me.user ? me.user.name || me.user.email : me.actor;
  document.getElementById("account-name").textContent = who;
  document.getElementById("account-role").textContent = roleLabel(me.role);
  document.getElementById("account-actor").textContent = `Acting as ${me.actor} in ${me.workspace}`;
  document.getElementById("sign-out-everywhere").hidden = !me.user;
  // An Owner (a person) or the installation's admin token makes workspaces; a key never does.
  document.getElementById("new-workspace").hidden = me.role !== "owner" || me.actor.startsWith("key:");
  const spaces = me.workspaces.length ? me.workspaces : [{ slug: me.workspace, name: me.workspace, role: me.role }];
  switcher.replaceChildren(
    ...spaces.map((w) =>
      h("option", { value: w.slug, selected: w.slug === me.workspace }, w.name && w.name !== w.slug ? `${w.name} (${w.slug})` : w.slug),
    ),
  );
  switcher.disabled = spaces.length < 2;
  for (const [nav, shown] of [
    ["new", can("job.submit")],
    ["team", true],
    ["keys", can("keys.manage")],
    ["audit", can("audit.read")],
  ]) {
    document.querySelector(`nav [data-nav="${nav}"]`).hidden = !shown;
  }
  area.hidden = false;
}

export function hideAccount() {
  area.hidden = true;
  menu.open = false;
  for (const nav of ["team", "keys", "audit"]) document.querySelector(`nav [data-nav="${nav}"]`).hidden = true;
}
