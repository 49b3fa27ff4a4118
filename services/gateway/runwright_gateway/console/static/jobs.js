// The Jobs page: status tabs, the jobs table, "Load more", and live refresh.
import { api } from "./api.js";
import { badge, duration, h, when } from "./ui.js";

const TABS = [
  ["", "All"],
  ["running", "Running"],
  ["completed", "Completed"],
  ["failed", "Failed"],
  ["scheduled", "Scheduled"],
  ["queued", "Queued"],
  ["waiting_for_approval", "Waiting for approval"],
  ["paused", "Paused"],
  ["cancelled", "Cancelled"],
];
const PAGE = 50;
const POLL_MS = 2000;

export function renderJobs(main, initialStatus) {
  let status = TABS.some(([value]) => value === initialStatus) ? initialStatus : "";
  let items = [];
  let nextCursor = null;
  let signature = "";
  let generation = 0;
  let stopped = false;

  document.title = "Jobs · Runwright";
  const tabs = TABS.map(([value, label]) =>
    h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${value || "all"}`,
        "aria-controls": "jobs-panel",
        dataset: { status: value },
      },
      label,
    ),
  );
  const tablist = h("div", { role: "tablist", "aria-label": "Filter jobs by status", class: "tabs" }, tabs);
  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", hidden: true }, "No jobs here yet.");
  const loadMore = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const live = h("p", { class: "muted small", "aria-live": "off" });
  const panel = h(
    "section",
    { role: "tabpanel", id: "jobs-panel", tabindex: "0" },
    h(
      "div",
      { class: "table-scroll" },
      h(
        "table",
        { class: "jobs" },
        h("caption", { class: "visually-hidden" }, "Jobs, newest first"),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Job", "Status", "Created", "Started", "Duration", "Steps", "Trigger"].map((name) =>
              h("th", { scope: "col" }, name),
            ),
          ),
        ),
        tbody,
      ),
    ),
    empty,
    h("div", { class: "row" }, loadMore, live),
  );
  main.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, "Jobs")), tablist, panel);

  function selectTab(value, focus = false) {
    status = value;
    for (const tab of tabs) {
      const selected = tab.dataset.status === value;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) {
        panel.setAttribute("aria-labelledby", tab.id);
        if (focus) tab.focus();
      }
    }
    const url = value ? `/console/jobs?status=${encodeURIComponent(value)}` : "/console/jobs";
    history.replaceState(null, "", url);
    items = [];
    nextCursor = null;
    signature = "";
    tbody.replaceChildren();
    load(false);
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target instanceof Element ? event.target.closest("[role=tab]") : null;
    if (tab) selectTab(tab.dataset.status);
  });
  tablist.addEventListener("keydown", (event) => {
    const index = tabs.findIndex((tab) => tab.dataset.status === status);
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    if (next === null) return;
    event.preventDefault();
    selectTab(tabs[next].dataset.status, true);
  });

  function query(limit, cursor) {
    const params = new URLSearchParams({ limit: String(limit) });
    if (status) params.set("status", status);
    if (cursor) params.set("cursor", cursor);
    return `/api/v1/jobs?${params}`;
  }

  // append=false re-reads the first page(s) (as many rows as are shown, at most 200).
  async function load(append) {
    const mine = ++generation;
    const limit = append ? PAGE : Math.min(200, Math.max(PAGE, items.length));
    let page;
    try {
      page = await api(query(limit, append ? nextCursor : null));
    } catch (error) {
      if (mine === generation && error.status !== 401) live.textContent = `Could not load jobs: ${error.message}`;
      return;
    }
    if (stopped || mine !== generation) return;
    items = append ? items.concat(page.items) : page.items;
    nextCursor = page.next_cursor;
    live.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    render();
  }

  function render() {
    const next = JSON.stringify(items);
    loadMore.hidden = !nextCursor;
    empty.hidden = items.length > 0;
    if (next === signature) return;
    signature = next;
    tbody.replaceChildren(...items.map(row));
  }

  function row(job) {
    return h(
      "tr",
      { dataset: { jobId: job.id, status: job.status } },
      h("td", {}, h("a", { href: `/console/jobs/${job.id}` }, job.title || job.id)),
      h("td", {}, badge(job.status)),
      h("td", {}, when(job.created_at)),
      h("td", {}, when(job.started_at)),
      h("td", { class: "num" }, duration(job.duration_ms)),
      h("td", { class: "num" }, `${job.steps_done}/${job.steps_total}`),
      h("td", {}, job.trigger),
    );
  }

  loadMore.addEventListener("click", () => load(true));

  // Live updates: there is no workspace-wide event stream yet (following every job's own
  // /events stream would be too heavy), so the list re-reads the current tab every 2 s while
  // the page is visible. A workspace-wide SSE endpoint is a follow-up that would replace this.
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") load(false);
  }, POLL_MS);
  const onVisible = () => {
    if (document.visibilityState === "visible") load(false);
  };
  document.addEventListener("visibilitychange", onVisible);

  selectTab(status);
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener("visibilitychange", onVisible);
  };
}
