// A runbook's page: its versions (draft or published, who wrote each and why), their text and
// the difference between two, Publish and Roll back, a new draft from the latest text, its last
// runs, and Run: a form built from the published version's declared variables (secrets as
// password fields) that submits runbook_ref.
import { api } from "../api.js";
import { runbookEditor } from "../editor.js";
import { variablesSection } from "../newjob/variables.js";
import { can, canPublish } from "../roles.js";
import { h, duration, toast, when } from "../ui.js";
import { problemText } from "../people/common.js";
import { rate, runStrip } from "./list.js";

// A unified diff with added and removed lines marked for the eye and for screen readers.
export function diffView(text) {
  if (!text) return h("p", { class: "muted" }, "The two versions are the same.");
  return h(
    "pre",
    { class: "diff", tabindex: "0", "aria-label": "Differences" },
    ...text.split("\n").map((line) => {
      const kind = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : line.startsWith("@@") ? "hunk" : "";
      return h("span", { class: kind ? `diff-${kind}` : "" }, `${line}\n`);
    }),
  );
}

export function renderRunbook(main, slug, navigate) {
  document.title = `${slug} · Runbooks · Runwright`;
  let stopped = false;
  let current = null;
  const base = `/api/v1/runbooks/${encodeURIComponent(slug)}`;
  const head = h("div", { class: "page-head" }, h("h1", { id: "runbook-title" }, slug));
  const facts = h("p", { class: "muted", id: "runbook-facts" });
  const runs = h("div", { id: "runbook-runs" });
  const panel = h("section", { id: "runbook-panel", "aria-live": "polite" });
  const versions = h("tbody");
  const runBox = h("section", { class: "card form-section", id: "runbook-run", "aria-labelledby": "run-heading" });
  const draftBox = h("section", { class: "card form-section", id: "runbook-draft", "aria-labelledby": "draft-heading" });
  const schedulesBox = h("ul", { id: "runbook-schedules" });
  main.replaceChildren(
    h("p", {}, h("a", { href: "/console/runbooks" }, "← All runbooks")),
    head,
    facts,
    runBox,
    h("section", { "aria-labelledby": "runs-heading" }, h("h2", { id: "runs-heading" }, "Last runs"), runs),
    h("section", { "aria-labelledby": "rb-schedules-heading" }, h("h2", { id: "rb-schedules-heading" }, "Schedules"), schedulesBox),
    h(
      "section",
      { "aria-labelledby": "versions-heading" },
      h("h2", { id: "versions-heading" }, "Versions"),
      h("table", { class: "jobs versions" }, h("thead", {}, h("tr", {}, ...["Version", "Message", "Author", "Created", "Steps", "State", "Actions"].map((c) => h("th", { scope: "col" }, c)))), versions),
    ),
    panel,
    draftBox,
  );

  async function showVersion(number) {
    const v = await api(`${base}/versions/${number}`);
    panel.replaceChildren(h("h2", {}, `Version ${number}`), h("pre", { class: "source", tabindex: "0", "aria-label": `Version ${number} text` }, v.source));
  }

  async function showDiff(a, b) {
    const d = await api(`${base}/versions/${a}/diff/${b}`);
    const steps = d.steps_changed.length ? `Steps changed: ${d.steps_changed.map((o) => o + 1).join(", ")}.` : "No step changed.";
    panel.replaceChildren(h("h2", {}, `Changes from version ${a} to ${b}`), h("p", { class: "muted small" }, steps), diffView(d.diff));
  }

  async function publish(number) {
    try {
      await api(`${base}/versions/${number}/publish`, { method: "POST" });
      toast(`Version ${number} is published: runs of ${slug} use it from now on.`);
      load();
    } catch (error) {
      if (error.status !== 401) toast(`Could not publish: ${problemText(error)}`);
    }
  }

  function versionRow(v, latest) {
    const actions = [
      h("button", { type: "button", class: "secondary", onclick: () => showVersion(v.number), "aria-label": `View version ${v.number}` }, "View"),
      v.number > 1 ? h("button", { type: "button", class: "secondary", onclick: () => showDiff(v.number - 1, v.number), "aria-label": `Changes in version ${v.number}` }, "Changes") : null,
    ];
    if (canPublish() && !v.published && !current.archived) {
      const older = current.published_version && v.number < current.published_version;
      actions.push(h("button", { type: "button", class: "primary", onclick: () => publish(v.number), "aria-label": `${older ? "Roll back to" : "Publish"} version ${v.number}` }, older ? "Roll back" : "Publish"));
    }
    return h(
      "tr",
      { dataset: { version: String(v.number), published: String(v.published) } },
      h("td", {}, `v${v.number}`, v.number === latest ? h("span", { class: "muted small" }, " latest") : null),
      h("td", {}, v.message || h("span", { class: "muted" }, "—")),
      h("td", {}, v.author.replace(/^user:/, "")),
      h("td", {}, when(v.created_at)),
      h("td", {}, String(v.steps)),
      h("td", {}, v.published ? h("span", { class: "badge badge-completed" }, "Published") : h("span", { class: "badge badge-scheduled" }, "Draft")),
      h("td", { class: "row" }, ...actions),
    );
  }

  // The schedules that run this runbook (following its published version or pinned).
  async function paintSchedules() {
    try {
      const { items } = await api("/api/v1/schedules?limit=200");
      const mine = items.filter((s) => (s.runbook_ref || "").split("@")[0] === slug);
      schedulesBox.replaceChildren(
        ...(mine.length
          ? mine.map((s) => h("li", { dataset: { scheduleId: s.id } }, h("a", { href: "/console/schedules" }, s.name), ` — ${s.description || s.cron} (${s.timezone})`, s.runbook_ref.includes("@") ? `, pinned to version ${s.runbook_ref.split("@")[1]}` : ", follows the published version"))
          : [h("li", { class: "muted" }, "None: add one on the Schedules page.")]),
      );
    } catch {
      /* the rest of the page stands without them */
    }
  }

  async function paintRun(r) {
    if (!r.published_version || r.archived || !can("job.submit")) {
      runBox.replaceChildren(
        h("h2", { id: "run-heading" }, "Run"),
        h("p", { class: "muted" }, r.archived ? "Archived: restore it to run it." : !r.published_version ? "Publish a version to run it." : "Your role watches runs; Members and above start them."),
      );
      return;
    }
    const published = await api(`${base}/versions/${r.published_version}`);
    const checked = await api("/api/v1/runbooks/validate", { method: "POST", body: { runbook: published.document } });
    const variables = variablesSection();
    variables.render(checked.variables);
    const error = h("p", { class: "error", role: "alert", id: "run-error" });
    const upload = h("input", { id: "run-data", type: "file", accept: ".csv,text/csv,application/json", "aria-describedby": "run-data-hint" });
    const submit = h("button", { type: "submit", class: "primary" }, `Run version ${r.published_version}`);
    const form = h(
      "form",
      { novalidate: true },
      variables.node,
      h("label", { for: "run-data" }, "Batch data (optional)"),
      h("p", { id: "run-data-hint", class: "muted small field-hint" }, "A CSV file with a header line (or a JSON list of rows): one job per row, its columns mapped by the runbook's dataSource."),
      upload,
      error,
      h("div", { class: "row" }, submit),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      submit.disabled = true;
      try {
        const body = { runbook_ref: slug, ...variables.collect() };
        const file = upload.files?.[0];
        if (file) {
          const text = await file.text();
          body.data = file.name.endsWith(".json") ? JSON.parse(text) : text;
        }
        const made = await api("/api/v1/jobs", { method: "POST", body });
        // A batch answers with its jobs: the Jobs page lists them (its batch filter).
        navigate(file ? `/console/jobs?batch=${encodeURIComponent(made.id)}` : `/console/jobs/${made.id}`);
      } catch (e) {
        if (e.status !== 401) error.textContent = `Could not run it: ${problemText(e)}`;
      } finally {
        submit.disabled = false;
      }
    });
    runBox.replaceChildren(h("h2", { id: "run-heading" }, "Run"), form);
  }

  async function paintDraft(r) {
    if (!can("runbook.edit") || r.archived) {
      draftBox.hidden = true;
      return;
    }
    const latest = await api(`${base}/versions/${r.latest_version}`);
    const text = h("textarea", { id: "draft-text", rows: "16", spellcheck: "false", class: "code", "aria-describedby": "draft-errors" });
    text.value = latest.source;
    const problems = h("ul", { id: "draft-errors", class: "editor-errors", "aria-live": "polite" });
    const message = h("input", { id: "draft-message", type: "text", maxlength: "500" });
    const error = h("div", { class: "error", role: "alert", id: "draft-error" });
    const form = h(
      "form",
      { novalidate: true },
      h("label", { for: "draft-text" }, "Runbook YAML"),
      text,
      problems,
      h("label", { for: "draft-message" }, "What changed (optional)"),
      message,
      error,
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Save as a new draft")),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.replaceChildren();
      try {
        const made = await api(`${base}/versions`, { method: "POST", body: { runbook: editor.value(), message: message.value } });
        toast(made.number === r.latest_version ? "No change: that is the latest version already." : `Version ${made.number} saved as a draft.`);
        load();
      } catch (e) {
        if (e.status !== 401) error.replaceChildren(h("p", {}, `Not saved: ${problemText(e)}`));
      }
    });
    draftBox.hidden = false;
    draftBox.replaceChildren(h("h2", { id: "draft-heading" }, "New draft"), form);
    const editor = runbookEditor(text, problems); // once in the page: CodeMirror measures it
  }

  async function load() {
    try {
      const r = (current = await api(base));
      if (stopped) return;
      document.title = `${r.title} · Runbooks · Runwright`;
      head.replaceChildren(h("h1", { id: "runbook-title" }, r.title), h("code", {}, r.slug));
      const state = r.archived ? "Archived" : r.published_version ? `Published: version ${r.published_version}` : "No published version yet";
      facts.textContent = `${state} · ${r.latest_version} ${r.latest_version === 1 ? "version" : "versions"} · success ${rate(r.success_rate)} · median ${duration(r.median_duration_ms)}`;
      runs.replaceChildren(runStrip(r.recent));
      paintSchedules();
      versions.replaceChildren(...r.versions.map((v) => versionRow(v, r.latest_version)));
      await Promise.all([paintRun(r), paintDraft(r)]);
    } catch (error) {
      if (stopped || error.status === 401) return;
      if (error.status === 404) main.replaceChildren(h("h1", {}, "Runbook not found"), h("p", {}, h("a", { href: "/console/runbooks" }, "All runbooks")));
      else facts.textContent = `Could not load the runbook: ${error.message}`;
    }
  }
  load();
  return () => {
    stopped = true;
  };
}
