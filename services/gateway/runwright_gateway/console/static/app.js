// The console's entry point: sign-in, who is signed in (and where, as what), a tiny client-side
// router, and the views.
import { sessionState, setUnauthorizedHandler, signOut } from "./api.js";
import { renderJobDetail } from "./detail/page.js";
import { renderJobs } from "./jobs/page.js";
import { renderNewJob } from "./newjob/page.js";
import { renderAccept } from "./people/accept.js";
import { hideAccount, loadMe, onAccountEvents, paintAccount } from "./people/account.js";
import { renderAudit } from "./people/audit.js";
import { renderKeys } from "./people/keys.js";
import { renderSignIn } from "./people/signin.js";
import { renderTeam } from "./people/team.js";
import { setMe } from "./roles.js";
import { renderRunbooks } from "./runbooks/list.js";
import { renderRunbook } from "./runbooks/page.js";
import { renderSchedules } from "./schedules.js";
import { renderWebhooks } from "./webhooks.js";
import { h } from "./ui.js";

const main = document.getElementById("main");
const signOutButton = document.getElementById("sign-out");
let cleanup = () => {};
let routing = 0; // the latest route(): an older one that is still waiting gives way

function leave() {
  cleanup();
  cleanup = () => {};
}

function showSignIn(reason = "") {
  leave();
  routing += 1;
  setMe(null);
  hideAccount();
  markNav("");
  signOutButton.hidden = true;
  cleanup = renderSignIn(main, { reason, onSignedIn: () => route() });
}

setUnauthorizedHandler(() => showSignIn());

export function navigate(url) {
  history.pushState(null, "", url);
  route();
}

// Mark the main navigation's link for the current page (aria-current="page").
function markNav(current) {
  for (const link of document.querySelectorAll("nav [data-nav]")) {
    if (link.dataset.nav === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function problemPage(title, text) {
  main.replaceChildren(h("h1", {}, title), h("p", { role: "alert" }, text));
}

const PAGES = {
  "/console/new": () => renderNewJob(main, navigate),
  "/console/schedules": () => renderSchedules(main),
  "/console/runbooks": () => renderRunbooks(main, navigate),
  "/console/webhooks": () => renderWebhooks(main),
  "/console/team": () => renderTeam(main),
  "/console/keys": () => renderKeys(main),
  "/console/audit": () => renderAudit(main),
};

async function route() {
  leave();
  const mine = ++routing;
  const url = new URL(location.href);
  const page = url.pathname.replace(/\/+$/, "");
  if (page === "/console/accept") {
    // Public: the invitation's token is the credential.
    hideAccount();
    markNav("");
    signOutButton.hidden = true;
    cleanup = renderAccept(main, navigate);
    return;
  }
  if (!(await sessionState())) {
    if (mine !== routing) return;
    const reason = url.searchParams.get("signin") || "";
    if (reason) history.replaceState(null, "", url.pathname);
    showSignIn(reason);
    return;
  }
  let me;
  try {
    me = await loadMe();
  } catch (error) {
    if (mine !== routing || error.status === 401) return; // 401: the sign-in view is up already
    signOutButton.hidden = false;
    if (error.problem?.code === "no_workspace") problemPage("No workspace", "You belong to no workspace yet; ask an Admin to invite you.");
    else problemPage("Could not load your account", error.message);
    return;
  }
  if (mine !== routing) return;
  setMe(me);
  paintAccount(me);
  signOutButton.hidden = false;
  const detail = url.pathname.match(/^\/console\/jobs\/([0-9a-fA-F-]{36})\/?$/);
  const stored = url.pathname.match(/^\/console\/runbooks\/([^/]+)\/?$/);
  markNav(detail || page === "/console/jobs" ? "jobs" : stored ? "runbooks" : page.replace("/console/", ""));
  if (PAGES[page]) {
    cleanup = PAGES[page]();
  } else if (detail) {
    cleanup = renderJobDetail(main, detail[1], navigate);
  } else if (stored) {
    cleanup = renderRunbook(main, decodeURIComponent(stored[1]), navigate);
  } else if (page === "/console/jobs") {
    cleanup = renderJobs(main, url.searchParams.get("status") || "");
  } else {
    main.replaceChildren(
      h("h1", {}, "Not found"),
      h("p", {}, h("a", { href: "/console/jobs" }, "Go to the jobs list")),
    );
  }
}

// A job page shows one workspace's job: after a switch, the other workspace's jobs list.
function afterSwitch() {
  if (/^\/console\/jobs\/[0-9a-fA-F-]{36}\/?$/.test(location.pathname)) navigate("/console/jobs");
  else route();
}

onAccountEvents({ onSwitch: afterSwitch, onEnded: () => showSignIn() });

document.addEventListener("click", (event) => {
  const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (link.target || link.hasAttribute("download")) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/console/")) return;
  if (url.pathname.startsWith("/console/static/")) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
  main.focus({ preventScroll: true });
});

window.addEventListener("popstate", () => route());

signOutButton.addEventListener("click", async () => {
  await signOut();
  showSignIn();
});

route();
