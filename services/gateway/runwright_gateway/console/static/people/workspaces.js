// "New workspace…" in the account menu (Owners, and the installation's admin token): a name and
// a slug (derived from the name until edited), created with POST /api/v1/workspaces; the person
// becomes its first Owner and the console switches to it, on its Team page, ready to invite.
import { api, switchWorkspace } from "../api.js";
import { h, toast } from "../ui.js";
import { problemText } from "./common.js";

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

export function slugOf(name) {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
}

function fieldOf(id, label, input, hint) {
  const error = h("p", { id: `${id}-error`, class: "error small", role: "alert" });
  input.setAttribute("aria-describedby", [hint ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" "));
  return {
    input,
    error,
    node: h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { id: `${id}-hint`, class: "muted small field-hint" }, hint) : null, input, error),
  };
}

// Opens the dialog; `done(slug)` runs after the workspace exists and the session acts in it.
export function openNewWorkspace(done) {
  const name = fieldOf("workspace-name", "Name", h("input", { id: "workspace-name", type: "text", maxlength: "200", required: true, autocomplete: "off" }));
  const slug = fieldOf(
    "workspace-slug",
    "Slug",
    h("input", { id: "workspace-slug", type: "text", maxlength: "40", required: true, autocomplete: "off", spellcheck: "false" }),
    "Lower-case letters, digits and dashes; it names the workspace in the API (X-Workspace) and cannot change.",
  );
  const formError = h("p", { id: "workspace-form-error", class: "error", role: "alert" });
  const create = h("button", { type: "submit", class: "primary" }, "Create workspace");
  let slugEdited = false;
  name.input.addEventListener("input", () => {
    if (!slugEdited) slug.input.value = slugOf(name.input.value);
  });
  slug.input.addEventListener("input", () => {
    slugEdited = true;
  });
  const form = h(
    "form",
    { novalidate: true },
    h("h2", { id: "workspace-dialog-title" }, "New workspace"),
    h("p", { class: "muted small" }, "You will be its first Owner. Jobs, schedules, keys and people of one workspace are not seen from another."),
    name.node,
    slug.node,
    formError,
    h("div", { class: "row end" }, h("button", { type: "button", class: "secondary", onclick: () => dialog.close() }, "Cancel"), create),
  );
  const dialog = h("dialog", { id: "workspace-dialog", "aria-labelledby": "workspace-dialog-title" }, form);

  function flag(field, message) {
    field.error.textContent = message;
    field.input.setAttribute("aria-invalid", "true");
    field.input.focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const f of [name, slug]) {
      f.error.textContent = "";
      f.input.removeAttribute("aria-invalid");
    }
    formError.textContent = "";
    const wanted = { name: name.input.value.trim(), slug: slug.input.value.trim() };
    if (!wanted.name) return flag(name, "Give the workspace a name.");
    if (!SLUG.test(wanted.slug)) return flag(slug, "Use 1 to 40 lower-case letters, digits and dashes, starting and ending with a letter or digit.");
    create.disabled = true;
    try {
      await api("/api/v1/workspaces", { method: "POST", body: wanted });
      await switchWorkspace(wanted.slug);
      dialog.close();
      toast(`Workspace ${wanted.name} created; you are its Owner.`);
      done(wanted.slug);
    } catch (error) {
      const errors = error.problem?.errors || [];
      const bySlug = errors.find((e) => e.field === "slug");
      const byName = errors.find((e) => e.field === "name");
      if (error.status === 409 && bySlug) flag(slug, "Another workspace has this slug; pick another.");
      else if (bySlug) flag(slug, bySlug.message);
      else if (byName) flag(name, byName.message);
      else formError.textContent = `Could not create the workspace: ${problemText(error)}`;
    } finally {
      create.disabled = false;
    }
  });
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  name.input.focus();
}
