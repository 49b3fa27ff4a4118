// The console's entry point: sign-in, a tiny client-side router, and the views.
import { sessionState, setUnauthorizedHandler, signIn, signOut } from "./api.js";
import { renderJobDetail } from "./detail/page.js";
import { renderJobs } from "./jobs/page.js";
import { renderNewJob } from "./newjob/page.js";
import { renderSchedules } from "./schedules.js";
import { h } from "./ui.js";

const main = document.getElementById("main");
const signOutButton = document.getElementById("sign-out");
let cleanup = () => {};

function showSignIn(failed = false) {
  cleanup();
  cleanup = () => {};
  signOutButton.hidden = true;
  document.title = "Sign in · Runwright";
  const error = h("p", { id: "signin-error", class: "error", role: "alert" });
  if (failed) error.textContent = "That token is not valid.";
  const input = h("input", {
    id: "token",
    name: "token",
    type: "password",
    required: true,
    autocomplete: "current-password",
    "aria-describedby": "signin-error",
  });
  // Without JavaScript the form still posts (form-encoded) and the server redirects back.
  const form = h(
    "form",
    { class: "card signin", method: "post", action: "/console/session" },
    h("h1", {}, "Sign in"),
    h("p", { class: "muted" }, "Enter the workspace's admin token."),
    h("label", { for: "token" }, "Admin token"),
    input,
    error,
    h("button", { type: "submit", class: "primary" }, "Sign in"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (await signIn(input.value)) {
      input.value = "";
      route();
    } else {
      error.textContent = "That token is not valid.";
      input.focus();
    }
  });
  main.replaceChildren(form);
  input.focus();
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

async function route() {
  cleanup();
  cleanup = () => {};
  const url = new URL(location.href);
  if (!(await sessionState())) {
    showSignIn(url.searchParams.get("signin") === "failed");
    return;
  }
  signOutButton.hidden = false;
  const detail = url.pathname.match(/^\/console\/jobs\/([0-9a-fA-F-]{36})\/?$/);
  const page = url.pathname.replace(/\/+$/, "");
  markNav(detail || page === "/console/jobs" ? "jobs" : page.replace("/console/", ""));
  if (page === "/console/new") {
    cleanup = renderNewJob(main, navigate);
  } else if (page === "/console/schedules") {
    cleanup = renderSchedules(main);
  } else if (detail) {
    cleanup = renderJobDetail(main, detail[1]);
  } else if (url.pathname === "/console/jobs" || url.pathname === "/console/jobs/") {
    cleanup = renderJobs(main, url.searchParams.get("status") || "");
  } else {
    main.replaceChildren(
      h("h1", {}, "Not found"),
      h("p", {}, h("a", { href: "/console/jobs" }, "Go to the jobs list")),
    );
  }
}

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
