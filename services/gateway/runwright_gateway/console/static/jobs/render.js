// The Jobs page's markup: the search toolbar, the status tabs with their counts, the jobs table
// and its rows. Functions here build or repaint nodes from state; they hold no state themselves.
import { badge, duration, h, SCHEDULE_LABEL, scheduleJobsUrl, when } from "../ui.js";
import { elapsedMs, narrowed, stepsDone, TAB_TITLES, TABS, TRIGGER_LABELS, TRIGGERS } from "./state.js";

const COLUMNS = ["Job", "Status", "Started", "Duration", "Steps", "Trigger"];

function tab([value, label]) {
  return h(
    "button",
    {
      type: "button",
      role: "tab",
      id: `tab-${value || "all"}`,
      "aria-controls": "jobs-panel",
      dataset: { status: value, label },
      title: TAB_TITLES[value],
    },
    h("span", {}, label),
    h("span", { class: "count", "aria-hidden": "true" }),
  );
}

function toolbar(filter) {
  const search = h("input", {
    id: "job-search",
    type: "search",
    value: filter.q,
    placeholder: "Title, job id or label=value",
    autocomplete: "off",
    spellcheck: "false",
  });
  const trigger = h(
    "select",
    { id: "job-trigger" },
    TRIGGERS.map(([value, label]) => h("option", { value, selected: value === filter.trigger }, label)),
  );
  const batchChip = h("p", { class: "chip", hidden: true });
  const node = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Find jobs", onsubmit: (e) => e.preventDefault() },
    h("label", { for: "job-search" }, "Search"),
    search,
    h("label", { for: "job-trigger" }, "Trigger"),
    trigger,
    batchChip,
  );
  return { node, search, trigger, batchChip };
}

function table(tbody) {
  return h(
    "div",
    { class: "table-scroll" },
    h(
      "table",
      { class: "jobs" },
      h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
      h("thead", {}, h("tr", {}, COLUMNS.map((name) => h("th", { scope: "col" }, name)))),
      tbody,
    ),
  );
}

// The whole page; returns the nodes the page's code updates.
export function jobsPage(main, filter) {
  const tabs = TABS.map(tab);
  const tablist = h("div", { role: "tablist", "aria-label": "Filter jobs by status", class: "tabs" }, tabs);
  const bar = toolbar(filter);
  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", hidden: true });
  const loadMore = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const live = h("p", { class: "muted small", id: "live-state", role: "status" }, "Connecting…");
  const panel = h("section", { role: "tabpanel", id: "jobs-panel", tabindex: "0" }, table(tbody), empty, h("div", { class: "row" }, loadMore, live));
  main.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, "Jobs")), bar.node, tablist, panel);
  return { tabs, tablist, ...bar, tbody, empty, loadMore, live, panel };
}

export function paintFilters(view, filter, clearBatch) {
  for (const node of view.tabs) {
    const selected = node.dataset.status === filter.status;
    node.setAttribute("aria-selected", String(selected));
    node.tabIndex = selected ? 0 : -1;
    if (selected) view.panel.setAttribute("aria-labelledby", node.id);
  }
  view.batchChip.hidden = !filter.batch;
  if (!filter.batch) return;
  view.batchChip.replaceChildren(
    `Batch ${filter.batch.slice(0, 8)} `,
    h("button", { type: "button", class: "link-button", "aria-label": "Show all batches", onclick: clearBatch }, "×"),
  );
}

export function paintCounts(view, body, filter) {
  for (const node of view.tabs) {
    const value = node.dataset.status;
    const n = value ? body.by_status[value] ?? 0 : body.total;
    // Capped: a filter matched more jobs than were counted, so these are lower bounds.
    const more = body.capped && n > 0 ? "+" : "";
    node.querySelector(".count").textContent = `${n.toLocaleString()}${more}`;
    const noun = n === 1 && !more ? "job" : "jobs";
    const what = narrowed(filter) ? "matching " : "";
    node.setAttribute("aria-label", `${node.dataset.label}, ${n}${more ? " or more" : ""} ${what}${noun}`);
  }
}

export function paintEmpty(view, filter, shown, more) {
  view.loadMore.hidden = !more;
  view.empty.hidden = shown > 0;
  view.empty.textContent = narrowed(filter) ? "No jobs match." : "No jobs here yet.";
}

export function elapsedText(job) {
  const ms = elapsedMs(job);
  return ms === null ? "—" : duration(ms);
}

function progress(job) {
  const total = job.steps_total || 0;
  const done = stepsDone(job);
  const title = job.status === "failed" ? `Failed: ${done} of ${total} steps done` : `${done} of ${total} steps done`;
  return h(
    "span",
    { class: `steps steps-${job.status}`, title },
    h("progress", { max: String(total || 1), value: String(done), "aria-hidden": "true" }),
    ` ${done}/${total}`,
  );
}

function triggerCell(job) {
  const label = TRIGGER_LABELS[job.trigger] || job.trigger;
  const schedule = job.labels?.[SCHEDULE_LABEL];
  if (job.trigger === "schedule" && schedule) {
    return h("a", { href: scheduleJobsUrl(schedule), title: "Show this schedule's jobs" }, label);
  }
  if (job.trigger !== "batch" || !job.batch_id) return label;
  return h("a", { href: `/console/jobs?batch=${job.batch_id}`, title: `Show batch ${job.batch_id}` }, label);
}

export function jobRow(job) {
  return h(
    "tr",
    { dataset: { jobId: job.id, status: job.status } },
    h("td", {}, h("a", { href: `/console/jobs/${job.id}` }, job.title || job.id), h("span", { class: "muted small job-id" }, job.id.slice(0, 8))),
    h("td", {}, badge(job.status)),
    h("td", { dataset: { label: "Started" } }, when(job.started_at)),
    h("td", { class: "num", dataset: { elapsed: "", label: "Duration" } }, elapsedText(job)),
    h("td", { class: "num", dataset: { label: "Steps" } }, progress(job)),
    h("td", { dataset: { label: "Trigger" } }, triggerCell(job)),
  );
}
