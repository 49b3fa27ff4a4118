// The Jobs page: status tabs with counts, search, the trigger filter, the jobs table and
// "Load more", kept current by the workspace-wide event stream (/api/v1/events): rows move
// between tabs and counts change as jobs do, with no periodic reload.
import { api } from "./api.js";
import { badge, duration, h, SCHEDULE_LABEL, STATUS_DESCRIPTIONS, scheduleJobsUrl, TERMINAL, when } from "./ui.js";

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
const TRIGGERS = [
  ["", "Any trigger"],
  ["api", "API"],
  ["schedule", "Schedule"],
  ["batch", "Batch"],
];
const TRIGGER_LABELS = Object.fromEntries(TRIGGERS.filter(([value]) => value));
const PAGE = 50;
const COUNTS_DELAY_MS = 250;
const SEARCH_DELAY_MS = 250;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function renderJobs(main, initialStatus) {
  const params = new URL(location.href).searchParams;
  const filter = {
    status: TABS.some(([value]) => value === initialStatus) ? initialStatus : "",
    q: params.get("q") || "",
    trigger: TRIGGER_LABELS[params.get("trigger")] ? params.get("trigger") : "",
    batch: UUID.test(params.get("batch") || "") ? params.get("batch") : "",
  };
  let items = [];
  const rows = new Map();
  let nextCursor = null;
  let generation = 0;
  let stopped = false;
  let countsTimer = 0;
  let searchTimer = 0;
  // Events that arrive while the first page is being (re)read wait here, then apply on top of
  // it; their per-job seq tells which the page already reflects.
  let held = null;

  document.title = "Jobs · Runwright";
  const counts = new Map();
  const tabs = TABS.map(([value, label]) => {
    const count = h("span", { class: "count", "aria-hidden": "true" });
    counts.set(value, count);
    return h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${value || "all"}`,
        "aria-controls": "jobs-panel",
        dataset: { status: value, label },
        title: value ? STATUS_DESCRIPTIONS[value] : "Every job",
      },
      h("span", {}, label),
      count,
    );
  });
  const tablist = h("div", { role: "tablist", "aria-label": "Filter jobs by status", class: "tabs" }, tabs);

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
  const toolbar = h(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Find jobs", onsubmit: (e) => e.preventDefault() },
    h("label", { for: "job-search" }, "Search"),
    search,
    h("label", { for: "job-trigger" }, "Trigger"),
    trigger,
    batchChip,
  );

  const tbody = h("tbody");
  const empty = h("p", { class: "muted empty", hidden: true });
  const loadMore = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const live = h("p", { class: "muted small", id: "live-state", role: "status" }, "Connecting…");
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
            ["Job", "Status", "Started", "Duration", "Steps", "Trigger"].map((name) =>
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
  main.replaceChildren(h("div", { class: "page-head" }, h("h1", {}, "Jobs")), toolbar, tablist, panel);

  // ---- filters -------------------------------------------------------------------------------

  function showFilters() {
    for (const tab of tabs) {
      const selected = tab.dataset.status === filter.status;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected) panel.setAttribute("aria-labelledby", tab.id);
    }
    batchChip.hidden = !filter.batch;
    if (filter.batch) {
      batchChip.replaceChildren(
        `Batch ${filter.batch.slice(0, 8)} `,
        h(
          "button",
          { type: "button", class: "link-button", "aria-label": "Show all batches", onclick: () => setFilter({ batch: "" }) },
          "×",
        ),
      );
    }
    const url = new URLSearchParams();
    if (filter.status) url.set("status", filter.status);
    if (filter.q) url.set("q", filter.q);
    if (filter.trigger) url.set("trigger", filter.trigger);
    if (filter.batch) url.set("batch", filter.batch);
    const query = url.toString();
    history.replaceState(null, "", query ? `/console/jobs?${query}` : "/console/jobs");
  }

  function setFilter(change, focusTab = false) {
    Object.assign(filter, change);
    showFilters();
    if (focusTab) tabs.find((tab) => tab.dataset.status === filter.status)?.focus();
    items = [];
    rows.clear();
    nextCursor = null;
    tbody.replaceChildren();
    load(false);
    if (!("status" in change) || Object.keys(change).length > 1) loadCounts();
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target instanceof Element ? event.target.closest("[role=tab]") : null;
    if (tab) setFilter({ status: tab.dataset.status });
  });
  tablist.addEventListener("keydown", (event) => {
    const index = tabs.findIndex((tab) => tab.dataset.status === filter.status);
    let next = null;
    if (event.key === "ArrowRight") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowLeft") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    if (next === null) return;
    event.preventDefault();
    setFilter({ status: tabs[next].dataset.status }, true);
  });
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter({ q: search.value.trim() }), SEARCH_DELAY_MS);
  });
  trigger.addEventListener("change", () => setFilter({ trigger: trigger.value }));

  // ---- loading -------------------------------------------------------------------------------

  // The search, trigger and batch filters (the tabs' counts follow them too).
  function filterParams() {
    const params = new URLSearchParams();
    if (filter.q) params.set("q", filter.q);
    if (filter.trigger) params.set("trigger", filter.trigger);
    if (filter.batch) params.set("batch_id", filter.batch);
    return params;
  }

  function query(limit, cursor) {
    const params = filterParams();
    params.set("limit", String(limit));
    if (filter.status) params.set("status", filter.status);
    if (cursor) params.set("cursor", cursor);
    return `/api/v1/jobs?${params}`;
  }

  // append=false re-reads the first page(s) (as many rows as are shown, at most 200).
  async function load(append) {
    const mine = ++generation;
    const limit = append ? PAGE : Math.min(200, Math.max(PAGE, items.length));
    if (!append) held = held || [];
    let page;
    try {
      page = await api(query(limit, append ? nextCursor : null));
    } catch (error) {
      if (mine === generation && error.status !== 401) live.textContent = `Could not load jobs: ${error.message}`;
      if (mine === generation) release();
      return;
    }
    if (stopped || mine !== generation) return;
    if (!append) {
      items = [];
      rows.clear();
      tbody.replaceChildren();
    }
    for (const job of page.items) place(job, true);
    nextCursor = page.next_cursor;
    settle();
    release();
  }

  function release() {
    const waiting = held || [];
    held = null;
    for (const [handle, data] of waiting) handle(data);
  }

  let countsAsked = 0;
  async function loadCounts() {
    const mine = ++countsAsked;
    let body;
    try {
      body = await api(`/api/v1/jobs/counts?${filterParams()}`);
    } catch {
      return;
    }
    if (stopped || mine !== countsAsked) return; // a newer answer is on its way
    for (const tab of tabs) {
      const value = tab.dataset.status;
      const n = value ? body.by_status[value] ?? 0 : body.total;
      // Capped: a filter matched more jobs than were counted, so these are lower bounds.
      const more = body.capped && n > 0 ? "+" : "";
      counts.get(value).textContent = `${n.toLocaleString()}${more}`;
      const noun = n === 1 && !more ? "job" : "jobs";
      const what = filter.q || filter.trigger || filter.batch ? "matching " : "";
      tab.setAttribute("aria-label", `${tab.dataset.label}, ${n}${more ? " or more" : ""} ${what}${noun}`);
    }
  }

  // At most one counts request per COUNTS_DELAY_MS however many jobs change meanwhile.
  function refreshCounts() {
    if (countsTimer) return;
    countsTimer = setTimeout(() => {
      countsTimer = 0;
      loadCounts();
    }, COUNTS_DELAY_MS);
  }

  // ---- rows ----------------------------------------------------------------------------------

  function matches(job) {
    if (filter.status && job.status !== filter.status) return false;
    if (filter.trigger && job.trigger !== filter.trigger) return false;
    if (filter.batch && job.batch_id !== filter.batch) return false;
    if (!filter.q) return true;
    const q = filter.q.trim();
    if (UUID.test(q)) return job.id.toLowerCase() === q.toLowerCase();
    const [key, ...rest] = q.split("=");
    if (rest.length && key.trim() && !key.trim().includes(" ")) {
      return job.labels?.[key.trim()] === rest.join("=").trim();
    }
    return (job.title || "").toLowerCase().includes(q.toLowerCase());
  }

  // Newest first, as the API orders them (created_at, then id, both descending).
  function newer(a, b) {
    if (a.created_at !== b.created_at) return new Date(a.created_at) > new Date(b.created_at);
    return a.id > b.id;
  }

  function place(job, fromPage = false) {
    const existing = rows.get(job.id);
    if (existing) {
      const index = items.findIndex((item) => item.id === job.id);
      items[index] = job;
      const node = row(job);
      existing.replaceWith(node);
      rows.set(job.id, node);
      return;
    }
    let index = fromPage ? items.length : items.findIndex((item) => newer(job, item));
    if (index < 0) {
      // Older than every row shown: it belongs to a page not loaded yet.
      if (nextCursor) return;
      index = items.length;
    }
    const node = row(job);
    items.splice(index, 0, job);
    rows.set(job.id, node);
    tbody.insertBefore(node, tbody.children[index] || null);
  }

  function drop(jobId) {
    const node = rows.get(jobId);
    if (!node) return;
    node.remove();
    rows.delete(jobId);
    items = items.filter((item) => item.id !== jobId);
  }

  function settle() {
    loadMore.hidden = !nextCursor;
    empty.hidden = items.length > 0;
    empty.textContent = filter.q || filter.trigger || filter.batch ? "No jobs match." : "No jobs here yet.";
  }

  function elapsed(job) {
    if (job.duration_ms !== null && job.duration_ms !== undefined) return duration(job.duration_ms);
    if (job.started_at && !TERMINAL.has(job.status)) {
      return duration(Math.max(0, Date.now() - new Date(job.started_at).getTime()));
    }
    return "—";
  }

  function progress(job) {
    const total = job.steps_total || 0;
    const done = Math.min(job.steps_done, total);
    return h(
      "span",
      { class: `steps steps-${job.status}`, title: `${done} of ${total} steps ran` },
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
    return h(
      "a",
      { href: `/console/jobs?batch=${job.batch_id}`, title: `Show batch ${job.batch_id}` },
      label,
    );
  }

  function row(job) {
    return h(
      "tr",
      { dataset: { jobId: job.id, status: job.status } },
      h(
        "td",
        {},
        h("a", { href: `/console/jobs/${job.id}` }, job.title || job.id),
        h("span", { class: "muted small job-id" }, job.id.slice(0, 8)),
      ),
      h("td", {}, badge(job.status)),
      h("td", { dataset: { label: "Started" } }, when(job.started_at)),
      h("td", { class: "num", dataset: { elapsed: "", label: "Duration" } }, elapsed(job)),
      h("td", { class: "num", dataset: { label: "Steps" } }, progress(job)),
      h("td", { dataset: { label: "Trigger" } }, triggerCell(job)),
    );
  }

  loadMore.addEventListener("click", () => load(true));

  // Running rows show their time so far, counted here (nothing is fetched for it).
  const ticker = setInterval(() => {
    for (const job of items) {
      if (job.status === "running" || job.status === "paused" || job.status === "waiting_for_approval") {
        const cell = rows.get(job.id)?.querySelector("[data-elapsed]");
        if (cell) cell.textContent = elapsed(job);
      }
    }
  }, 1000);

  // ---- live ----------------------------------------------------------------------------------

  // Jobs being fetched; true when another event came meanwhile (then it is fetched again).
  const fetching = new Map();
  async function fetchAndPlace(jobId) {
    if (fetching.has(jobId)) {
      fetching.set(jobId, true);
      return;
    }
    fetching.set(jobId, false);
    try {
      const job = await api(`/api/v1/jobs/${jobId}`);
      if (stopped) return;
      const { steps, metrics, report, version, ...summary } = job;
      if (matches(summary)) place(summary);
      else drop(jobId);
      settle();
    } catch {
      // Gone or not readable: nothing to show.
    } finally {
      const again = fetching.get(jobId);
      fetching.delete(jobId);
      if (again && !stopped) fetchAndPlace(jobId);
    }
  }

  function receive(handle) {
    return (event) => {
      const data = JSON.parse(event.data);
      if (held) held.push([handle, data]);
      else handle(data);
    };
  }

  function onStatus(data) {
    refreshCounts();
    const index = items.findIndex((item) => item.id === data.job_id);
    if (index < 0) {
      // A job this view does not show yet: show it if it belongs here now.
      if (!filter.status || filter.status === data.status || fetching.has(data.job_id)) {
        fetchAndPlace(data.job_id);
      }
      return;
    }
    const job = items[index];
    if (data.seq <= job.last_event_seq) return;
    const next = { ...job, status: data.status, last_event_seq: data.seq, reason: data.reason ?? job.reason };
    if (data.status === "running" && !next.started_at) next.started_at = data.at;
    if (data.status === "queued" && data.previous && data.previous !== "scheduled") {
      next.steps_done = 0; // requeued: it starts again from the first step
      next.started_at = null;
    }
    if (TERMINAL.has(data.status)) {
      next.finished_at = data.at;
      if (next.started_at) next.duration_ms = Math.max(0, new Date(data.at) - new Date(next.started_at));
    }
    if (matches(next)) place(next);
    else drop(data.job_id);
    settle();
  }

  function onStep(data) {
    if (fetching.has(data.job_id)) fetching.set(data.job_id, true);
    const job = items.find((item) => item.id === data.job_id);
    if (!job || data.seq <= job.last_event_seq) return;
    const finished = data.status === "success" || data.status === "failed";
    place({
      ...job,
      last_event_seq: data.seq,
      steps_done: finished ? Math.min(job.steps_done + 1, job.steps_total) : job.steps_done,
    });
  }

  const source = new EventSource("/api/v1/events?types=status,step");
  // The first "ready" (and any "reset") gives a position to resume from; what the page shows is
  // (re)loaded after it, so nothing falls between the list and the stream.
  const reload = () => {
    live.textContent = "Live";
    load(false);
    loadCounts();
  };
  source.addEventListener("ready", reload);
  source.addEventListener("reset", reload);
  source.addEventListener("status", receive(onStatus));
  source.addEventListener("step", receive(onStep));
  source.addEventListener("open", () => {
    live.textContent = "Live";
  });
  source.addEventListener("error", () => {
    if (!stopped) live.textContent = "Reconnecting…";
  });

  showFilters();
  return () => {
    stopped = true;
    source.close();
    clearInterval(ticker);
    clearTimeout(countsTimer);
    clearTimeout(searchTimer);
  };
}
