// The job page's "run again" tools: Re-run (the same runbook version, variables and options as a
// new job) and the comparison with the previous run of the same runbook, step by step.
import { api } from "../api.js";
import { problemText } from "../people/common.js";
import { can } from "../roles.js";
import { h, duration, STATUS_LABELS, TERMINAL, toast } from "../ui.js";

const label = (status) => STATUS_LABELS[status] || status;

function delta(ms) {
  if (ms === null || ms === undefined) return "—";
  return `${ms > 0 ? "+" : ms < 0 ? "−" : "±"}${duration(Math.abs(ms))}`;
}

function comparisonTable(c) {
  const side = (s) => (s ? `${label(s.status)}, ${duration(s.duration_ms)}` : "—");
  return h(
    "div",
    { id: "comparison" },
    h(
      "p",
      {},
      `This run: ${label(c.head.status)} in ${duration(c.head.duration_ms)}${c.head.runbook_version ? ` (version ${c.head.runbook_version})` : ""}; `,
      h("a", { href: `/console/jobs/${c.base.id}` }, "the previous run"),
      `: ${label(c.base.status)} in ${duration(c.base.duration_ms)}${c.base.runbook_version ? ` (version ${c.base.runbook_version})` : ""}. Difference: ${delta(c.delta_ms)}.`,
    ),
    h(
      "table",
      { class: "jobs comparison" },
      h("thead", {}, h("tr", {}, ...["Step", "Previous run", "This run", "Difference"].map((t) => h("th", { scope: "col" }, t)))),
      h(
        "tbody",
        {},
        ...c.steps.map((s) =>
          h(
            "tr",
            { dataset: { ordinal: String(s.ordinal), changed: String(s.changed) }, class: s.changed ? "changed" : "" },
            h("td", {}, `${s.ordinal + 1}. ${s.description}`),
            h("td", {}, side(s.base)),
            h("td", {}, side(s.head)),
            h("td", {}, delta(s.delta_ms)),
          ),
        ),
      ),
    ),
  );
}

// `navigate(url)` opens the new job's page.
export function againTools(base, navigate) {
  const rerun = h("button", { type: "button", class: "secondary", id: "rerun" }, "Re-run");
  const compare = h("button", { type: "button", class: "secondary", id: "compare" }, "Compare with the previous run");
  const saveFix = h("button", { type: "button", class: "primary", id: "save-fix", hidden: true }, "Save the fix as a new draft");
  const panel = h("div", { "aria-live": "polite" });
  const node = h("section", { id: "again", "aria-label": "Run again", hidden: true }, h("div", { class: "row" }, saveFix, rerun, compare), panel);
  let fix = null; // { ordinal, step, slug, version }: an edited step a retry ran
  saveFix.addEventListener("click", async () => {
    saveFix.disabled = true;
    try {
      const from = await api(`/api/v1/runbooks/${encodeURIComponent(fix.slug)}/versions/${fix.version}`);
      const document = structuredClone(from.document);
      document.steps = document.steps.map((s) => (s.ordinal === fix.ordinal ? { ...fix.step, ordinal: fix.ordinal } : s));
      const made = await api(`/api/v1/runbooks/${encodeURIComponent(fix.slug)}/versions`, {
        method: "POST",
        body: { runbook: document, message: `Fix of step ${fix.ordinal + 1}, from job ${base.split("/").pop()}` },
      });
      saveFix.hidden = true;
      panel.replaceChildren(h("p", {}, `Saved as version ${made.number} of `, h("a", { href: `/console/runbooks/${encodeURIComponent(fix.slug)}` }, fix.slug), " (a draft: publish it there)."));
    } catch (error) {
      if (error.status !== 401) toast(`Could not save the fix: ${problemText(error)}`);
    } finally {
      saveFix.disabled = false;
    }
  });
  rerun.addEventListener("click", async () => {
    rerun.disabled = true;
    try {
      const job = await api(`${base}/rerun`, { method: "POST", body: {} });
      toast("Running again as a new job.");
      navigate(`/console/jobs/${job.id}`);
    } catch (error) {
      if (error.status === 422 && (error.problem?.errors || []).some((e) => /^(secrets|variables)\./.test(e.field))) {
        toast("This runbook needs its secrets again (they are deleted when a job ends): run it from its runbook page or the API with them.");
      } else if (error.status !== 401) toast(`Could not run it again: ${problemText(error)}`);
    } finally {
      rerun.disabled = false;
    }
  });
  compare.addEventListener("click", async () => {
    try {
      panel.replaceChildren(comparisonTable(await api(`${base}/compare`)));
    } catch (error) {
      if (error.status === 404) panel.replaceChildren(h("p", { class: "muted" }, "No earlier run of this runbook to compare with."));
      else if (error.status !== 401) panel.replaceChildren(h("p", { class: "error" }, problemText(error)));
    }
  });
  return {
    node,
    offerFix(edited) {
      fix = edited;
    },
    sync(job) {
      node.hidden = !TERMINAL.has(job.status);
      rerun.hidden = !can("job.submit");
      saveFix.hidden = !(fix && job.status === "completed" && can("runbook.edit"));
    },
  };
}
