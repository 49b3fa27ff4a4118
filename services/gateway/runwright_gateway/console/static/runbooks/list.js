// The Runbooks page: the workspace's stored runbooks, each with its published version, a strip
// of its last 20 runs (newest first), its success rate and median duration.
import { api } from "../api.js";
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

export function renderRunbooks(main) {
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
