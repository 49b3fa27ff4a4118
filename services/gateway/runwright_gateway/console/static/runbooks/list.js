// The Runbooks page: the workspace's stored runbooks, each with its published version, a strip
// of its last 20 runs (newest first), its success rate and median duration.
import { api } from "../api.js";
import { runbookEditor } from "../editor.js";
import { problemText } from "../people/common.js";
import { can, setMe, workspace } from "../roles.js";
import { h, duration, STATUS_LABELS } from "../ui.js";

export function runStrip(runs) {
  if (!runs.length) return h("span", { class: "muted small" }, "No runs yet");
  return h(
    "span",
    { class: "run-strip", role: "list", "aria-label": `Last ${runs.length} runs, newest first` },
    ...runs.map((run) =>
      h("a", {
        href: `/console/jobs/${run.id}`,
        role: "listitem",
        class: `run-dot badge-${run.status}`,
        title: `${STATUS_LABELS[run.status] || run.status} · ${new Date(run.created_at).toLocaleString()}`,
        "aria-label": `${STATUS_LABELS[run.status] || run.status}, ${new Date(run.created_at).toLocaleString()}`,
      }),
    ),
  );
}

export function rate(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 100)} %`;
}

// "New runbook" (Developers): a slug and the YAML; it is created as version 1, a draft.
function newRunbookForm(navigate) {
  const slug = h("input", { id: "new-runbook-slug", type: "text", maxlength: "64", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "new-runbook-slug-hint" });
  const text = h("textarea", { id: "new-runbook-yaml", rows: "14", spellcheck: "false", class: "code", required: true, "aria-describedby": "new-runbook-errors" });
  const problems = h("ul", { id: "new-runbook-errors", class: "editor-errors", "aria-live": "polite" });
  const editor = runbookEditor(text, problems);
  const error = h("div", { id: "new-runbook-error", class: "error", role: "alert" });
  const form = h(
    "form",
    { class: "card form-section", novalidate: true, "aria-labelledby": "new-runbook-heading" },
    h("h2", { id: "new-runbook-heading" }, "New runbook"),
    h("label", { for: "new-runbook-slug" }, "Slug"),
    h("p", { id: "new-runbook-slug-hint", class: "muted small field-hint" }, "Lower-case letters, digits and dashes: how jobs and schedules name it (runbook_ref)."),
    slug,
    h("label", { for: "new-runbook-yaml" }, "Runbook YAML"),
    text,
    problems,
    error,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Create runbook")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.replaceChildren();
    try {
      const made = await api("/api/v1/runbooks", { method: "POST", body: { slug: slug.value.trim(), runbook: editor.value(), message: "created in the console" } });
      navigate(`/console/runbooks/${made.slug}`);
    } catch (e) {
      if (e.status !== 401) error.replaceChildren(h("p", {}, `Not created: ${problemText(e)}`));
    }
  });
  return form;
}

// Admins: whether publishing a version needs an Admin in this workspace.
function publishSetting() {
  const box = h("input", { type: "checkbox", id: "publish-approval", checked: Boolean(workspace().publish_approval) });
  const note = h("span", { class: "muted small", role: "status" });
  box.addEventListener("change", async () => {
    try {
      await api("/api/v1/workspaces/current", { method: "PATCH", body: { publish_approval: box.checked } });
      setMe(await api("/api/v1/me"));
      note.textContent = box.checked ? " Only Admins publish now." : " Developers publish again.";
    } catch (e) {
      box.checked = !box.checked;
      if (e.status !== 401) note.textContent = ` Not changed: ${problemText(e)}`;
    }
  });
  return h("p", { class: "card" }, h("label", { for: "publish-approval" }, box, " Publishing a version needs an Admin"), note);
}

export function renderRunbooks(main, navigate) {
  document.title = "Runbooks · Runwright";
  let stopped = false;
  const tbody = h("tbody");
  const status = h("p", { class: "muted small", role: "status" }, "Loading runbooks…");
  const archived = h("input", { type: "checkbox", id: "show-archived" });
  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Runbooks")),
    h("p", { class: "muted" }, "Stored runbooks with their versions. Run one from its page, or with runbook_ref in the API."),
    h("p", {}, h("label", { for: "show-archived" }, archived, " Show archived runbooks")),
    status,
    h(
      "table",
      { class: "jobs runbooks" },
      h("thead", {}, h("tr", {}, ...["Runbook", "Published", "Latest", "Last runs", "Success", "Median duration"].map((c) => h("th", { scope: "col" }, c)))),
      tbody,
    ),
    can("runbook.edit") ? newRunbookForm(navigate) : null,
    can("team.manage") ? publishSetting() : null,
  );

  async function load() {
    try {
      const { items } = await api(`/api/v1/runbooks${archived.checked ? "?archived=true" : ""}`);
      if (stopped) return;
      status.textContent = items.length ? "" : archived.checked ? "No archived runbooks." : "No runbooks yet: a Developer adds one with POST /api/v1/runbooks.";
      tbody.replaceChildren(
        ...items.map((r) =>
          h(
            "tr",
            { dataset: { slug: r.slug } },
            h("td", {}, h("a", { href: `/console/runbooks/${r.slug}` }, r.title), h("div", { class: "muted small" }, h("code", {}, r.slug))),
            h("td", {}, r.published_version ? `v${r.published_version}` : h("span", { class: "muted" }, "none")),
            h("td", {}, `v${r.latest_version}`),
            h("td", {}, runStrip(r.recent)),
            h("td", { class: "runbook-success" }, rate(r.success_rate)),
            h("td", {}, duration(r.median_duration_ms)),
          ),
        ),
      );
    } catch (error) {
      if (!stopped && error.status !== 401) status.textContent = `Could not load the runbooks: ${error.message}`;
    }
  }
  archived.addEventListener("change", load);
  load();
  return () => {
    stopped = true;
  };
}
