// /console/accept#token=…: joining a workspace from an invitation link. The token is read from
// the fragment (which browsers never send) and goes only in the accept request's body; the
// fragment is dropped from the address bar at once, so it stays out of history too.
import { api } from "../api.js";
import { field } from "../newjob/fields.js";
import { h } from "../ui.js";

const MIN_LENGTH = 12; // passwords.py MIN_LENGTH

let kept = ""; // the token, once taken from the fragment

function takeToken() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = fragment.get("token");
  if (token) {
    kept = token;
    history.replaceState(null, "", location.pathname);
  }
  return kept;
}

function deadLink(main) {
  main.replaceChildren(
    h(
      "div",
      { class: "card signin", role: "alert", id: "accept-dead" },
      h("h1", {}, "This invitation link does not work"),
      h("p", {}, "It may have expired, been cancelled, been used already, or been replaced by a newer link."),
      h("p", {}, "Ask the person who invited you to send a new one."),
      h("p", {}, h("a", { href: "/console/jobs" }, "Go to sign-in")),
    ),
  );
}

export function renderAccept(main, navigate) {
  document.title = "Accept invitation · Runwright";
  const token = takeToken();
  if (!token) {
    deadLink(main);
    return () => {};
  }
  let stopped = false;
  const name = field({ id: "accept-name", label: "Your name", input: h("input", { type: "text", autocomplete: "name", maxlength: "200" }), hint: "Shown to your team; your e-mail address when empty." });
  const password = field({
    id: "accept-password",
    label: "Password",
    input: h("input", { type: "password", autocomplete: "new-password", minlength: String(MIN_LENGTH) }),
    hint: `At least ${MIN_LENGTH} characters. If you already have a Runwright account for this e-mail address, enter its password.`,
    required: true,
  });
  const confirm = field({ id: "accept-confirm", label: "Confirm password", input: h("input", { type: "password", autocomplete: "new-password" }), required: true });
  const formError = h("p", { id: "accept-error", class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Join workspace");
  const form = h(
    "form",
    { class: "card signin", novalidate: true, "aria-labelledby": "accept-title" },
    h("h1", { id: "accept-title" }, "Accept your invitation"),
    h("p", { class: "muted" }, "Set a password to join the workspace."),
    name.node,
    password.node,
    confirm.node,
    formError,
    submit,
  );

  function flag(target, message) {
    target.error.textContent = message;
    target.input.setAttribute("aria-invalid", "true");
    target.input.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const f of [name, password, confirm]) {
      f.error.textContent = "";
      f.input.removeAttribute("aria-invalid");
    }
    formError.textContent = "";
    if (password.input.value.length < MIN_LENGTH) return flag(password, `At least ${MIN_LENGTH} characters, please.`);
    if (password.input.value !== confirm.input.value) return flag(confirm, "The two passwords differ.");
    submit.disabled = true;
    try {
      const body = { token, password: password.input.value };
      if (name.input.value.trim()) body.name = name.input.value.trim();
      await api("/api/v1/invitations/accept", { method: "POST", body }); // the new session acts in the workspace just joined
      if (stopped) return;
      kept = "";
      navigate("/console/jobs");
    } catch (error) {
      if (stopped) return;
      const errors = error.problem?.errors || [];
      if (error.status === 404) deadLink(main);
      else if (error.status === 422 && errors.some((e) => e.field === "password")) {
        flag(password, errors.filter((e) => e.field === "password").map((e) => `Password ${e.message}.`).join(" "));
      } else if (error.status === 429) formError.textContent = `Too many attempts; try again in ${error.retryAfter || "a few"} s.`;
      else formError.textContent = `Could not accept the invitation: ${error.message}`;
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
  name.input.focus();
  return () => {
    stopped = true;
  };
}
