// The sign-in view: e-mail and password first, an API key or the admin token as the other way.
// It is a real form (method=post): without JavaScript it posts form-encoded and the gateway
// redirects back (?signin=failed|limited); with it, the same fields go as JSON through fetch.
import { signIn } from "../api.js";
import { h } from "../ui.js";

const MESSAGES = {
  password: "The e-mail address or the password is not right.",
  token: "That token is not valid.",
  failed: "The e-mail address, the password or the token is not right.",
  missing: "Enter your e-mail address and password, or an API key or admin token.",
};

function limited(seconds) {
  return seconds ? `Too many attempts; try again in ${seconds} s.` : "Too many attempts; try again later.";
}

// `reason`: "failed" or "limited" (a form post the gateway redirected back), else "".
export function renderSignIn(main, { reason = "", onSignedIn }) {
  document.title = "Sign in · Runwright";
  const error = h("p", { id: "signin-error", class: "error", role: "alert" });
  if (reason === "failed") error.textContent = MESSAGES.failed;
  if (reason === "limited") error.textContent = limited(null);
  const described = { "aria-describedby": "signin-error" };
  const email = h("input", { id: "signin-email", name: "email", type: "email", autocomplete: "username", spellcheck: "false", ...described });
  const password = h("input", { id: "signin-password", name: "password", type: "password", autocomplete: "current-password", ...described });
  const token = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", spellcheck: "false", "aria-describedby": "token-hint signin-error" });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", method: "post", action: "/console/session", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in"),
    h("label", { for: "signin-email" }, "E-mail"),
    email,
    h("label", { for: "signin-password" }, "Password"),
    password,
    h(
      "fieldset",
      { class: "signin-token" },
      h("legend", { class: "small" }, "Or use an API key"),
      h("label", { for: "token", class: "small" }, "API key or admin token"),
      h("p", { id: "token-hint", class: "muted small field-hint" }, "Leave the e-mail address empty to sign in with a key (rw_…) or the installation's admin token."),
      token,
    ),
    error,
    submit,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    // As the gateway decides: an e-mail address means a password sign-in, else the token.
    const byPassword = email.value.trim() !== "";
    if (!byPassword && !token.value.trim()) {
      error.textContent = MESSAGES.missing;
      email.focus();
      return;
    }
    submit.disabled = true;
    let answer;
    try {
      answer = await signIn(byPassword ? { email: email.value.trim(), password: password.value } : { token: token.value.trim() });
    } catch {
      answer = { ok: false, status: 0 };
    } finally {
      submit.disabled = false;
    }
    if (answer.ok) {
      password.value = "";
      token.value = "";
      onSignedIn();
      return;
    }
    if (answer.status === 429) error.textContent = limited(answer.retryAfter);
    else if (answer.status === 401) error.textContent = byPassword ? MESSAGES.password : MESSAGES.token;
    else error.textContent = `Could not sign in (HTTP ${answer.status || "error"}); try again.`;
    (byPassword ? password : token).focus();
  });
  main.replaceChildren(form);
  email.focus();
  return () => {};
}
