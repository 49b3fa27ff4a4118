// The API keys page (Admins and Owners): the workspace's keys, creating one (a role no higher
// than one's own, an optional expiry) whose secret is shown once, and revoking with a check.
import { api } from "../api.js";
import { localToIso, zoneLabel } from "../newjob/fields.js";
import { can, me, roleLabel } from "../roles.js";
import { h, when } from "../ui.js";
import { confirmDialog, copyBox, problemText, roleSelect } from "./common.js";

const COLUMNS = ["Name", "Prefix", "Role", "Status", "Created", "Last used", "Expires", "Actions"];
const STATUS_LABELS = { active: "Active", revoked: "Revoked", expired: "Expired" };

export function renderKeys(main) {
  document.title = "API keys · Runwright";
  if (!can("keys.manage")) {
    main.replaceChildren(
      h("h1", {}, "API keys"),
      h("p", { class: "card muted" }, `API keys are managed by Admins and Owners; your role here is ${roleLabel(me().role)}.`),
    );
    return () => {};
  }
  let stopped = false;
  const tbody = h("tbody");
  const live = h("p", { id: "keys-status", class: "small", role: "status", "aria-live": "polite" });
  const problem = h("p", { id: "keys-error", class: "error", role: "alert" });
  const created = h("div", { id: "new-key" });

  const name = h("input", { id: "key-name", type: "text", maxlength: "100", required: true, autocomplete: "off", "aria-describedby": "key-form-error" });
  const role = roleSelect({ id: "key-role" }, "member");
  const expires = h("input", { id: "key-expires", type: "datetime-local", "aria-describedby": "key-expires-hint" });
  const formError = h("p", { id: "key-form-error", class: "error", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create key");
  const form = h(
    "form",
    { class: "card form-section", novalidate: true, "aria-labelledby": "key-form-heading" },
    h("h2", { id: "key-form-heading" }, "Create a key"),
    h(
      "div",
      { class: "form-grid" },
      h("div", { class: "field" }, h("label", { for: "key-name" }, "Name"), name),
      h("div", { class: "field" }, h("label", { for: "key-role" }, "Role"), role),
      h(
        "div",
        { class: "field" },
        h("label", { for: "key-expires" }, "Expires (optional)"),
        h("p", { id: "key-expires-hint", class: "muted small field-hint" }, `Never when empty. ${zoneLabel()}`),
        expires,
      ),
    ),
    formError,
    h("div", { class: "row" }, submit),
  );

  function showCreated(key) {
    created.replaceChildren(
      h(
        "div",
        { class: "card notice" },
        h("h2", {}, `Key “${key.name}” created`),
        copyBox({
          id: "new-key-value",
          label: "The new API key",
          value: key.key,
          note: "Copy it now: it will not be shown again. Runwright keeps only its hash.",
        }),
        h("button", { type: "button", class: "link-button", onclick: () => created.replaceChildren() }, "Done, hide it"),
      ),
    );
    created.querySelector("input").focus();
    created.querySelector("input").select();
  }

  function keyRow(key) {
    let action = null;
    if (key.status === "active") {
      action = h("button", { type: "button", class: "danger", "aria-label": `Revoke ${key.name}` }, "Revoke");
      action.addEventListener("click", async () => {
        const sure = await confirmDialog({
          id: "revoke-key-dialog",
          title: `Revoke “${key.name}”?`,
          body: `Every call with ${key.prefix}… is refused from now on. This cannot be undone.`,
          confirmLabel: "Revoke key",
        });
        if (!sure) return;
        try {
          await api(`/api/v1/keys/${key.id}`, { method: "DELETE" });
          live.textContent = `“${key.name}” was revoked.`;
          problem.textContent = "";
        } catch (error) {
          if (error.status !== 401) problem.textContent = `Could not revoke “${key.name}”: ${problemText(error)}`;
        }
        load();
      });
    }
    return h(
      "tr",
      { dataset: { keyId: key.id, name: key.name, status: key.status } },
      h("td", {}, key.name),
      h("td", {}, h("code", {}, key.prefix)),
      h("td", {}, roleLabel(key.role)),
      h("td", {}, h("span", { class: `badge badge-key-${key.status}` }, STATUS_LABELS[key.status] || key.status)),
      h("td", {}, when(key.created_at), h("span", { class: "muted small block" }, key.created_by)),
      h("td", {}, key.last_used_at ? when(key.last_used_at) : "Never"),
      h("td", {}, key.expires_at ? when(key.expires_at) : "Never"),
      h("td", {}, action),
    );
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    formError.textContent = "";
    if (!name.value.trim()) {
      formError.textContent = "Give the key a name.";
      name.focus();
      return;
    }
    const body = { name: name.value.trim(), role: role.value };
    if (expires.value) body.expires_at = localToIso(expires.value);
    submit.disabled = true;
    try {
      const key = await api("/api/v1/keys", { method: "POST", body });
      if (stopped) return;
      name.value = "";
      expires.value = "";
      live.textContent = `Key “${key.name}” created.`;
      showCreated(key);
      load();
    } catch (error) {
      if (!stopped && error.status !== 401) {
        formError.textContent = `Could not create the key: ${problemText(error)}`;
        name.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });

  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "API keys"), h("span", { class: "muted" }, me().workspace)),
    live,
    problem,
    form,
    created,
    h(
      "section",
      { "aria-labelledby": "keys-heading" },
      h("h2", { id: "keys-heading" }, "Keys"),
      h(
        "div",
        { class: "table-scroll" },
        h("table", { class: "jobs people" }, h("caption", { class: "visually-hidden" }, "API keys, newest first"), h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))), tbody),
      ),
    ),
  );

  async function load() {
    try {
      const { items } = await api("/api/v1/keys");
      if (stopped) return;
      tbody.replaceChildren(...(items.length ? items.map(keyRow) : [h("tr", {}, h("td", { colspan: String(COLUMNS.length), class: "muted" }, "No keys yet."))]));
    } catch (error) {
      if (!stopped && error.status !== 401) problem.textContent = `Could not load the keys: ${problemText(error)}`;
    }
  }
  load();
  return () => {
    stopped = true;
  };
}
