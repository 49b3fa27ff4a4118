// The Jobs page: status tabs with counts, search, the trigger filter, the jobs table and
// "Load more", kept current by the workspace-wide event stream: rows move between tabs and
// counts change as jobs do, with no periodic reload.
import { api } from "../api.js";
import { jobsPage, paintCounts, paintEmpty, paintFilters } from "./render.js";
import { filterFrom, filterParams, listUrl, matches, PAGE, pageUrl, withStatus, withStep } from "./state.js";
import { workspaceStream } from "./stream.js";
import { jobsTable } from "./table.js";

const COUNTS_DELAY_MS = 250;
const SEARCH_DELAY_MS = 250;

export function renderJobs(main, initialStatus) {
  const filter = filterFrom(new URL(location.href).searchParams, initialStatus);
  let nextCursor = null;
  let generation = 0;
  let countsAsked = 0;
  let stopped = false;
  let countsTimer = 0;
  let searchTimer = 0;
  const fetching = new Map(); // jobs being fetched → the newest event seq seen for each meanwhile

  document.title = "Jobs · Runwright";
  const view = jobsPage(main, filter);
  const table = jobsTable(view.tbody);

  function showFilters() {
    paintFilters(view, filter, () => setFilter({ batch: "" }));
    history.replaceState(null, "", pageUrl(filter));
  }

  function setFilter(change, focusTab = false) {
    Object.assign(filter, change);
    showFilters();
    if (focusTab) view.tabs.find((tab) => tab.dataset.status === filter.status)?.focus();
    table.clear();
    nextCursor = null;
    load(false);
    if (!("status" in change) || Object.keys(change).length > 1) loadCounts();
  }

  function settle() {
    paintEmpty(view, filter, table.size, Boolean(nextCursor));
  }

  // append=false re-reads the first page(s) (as many rows as are shown, at most 200).
  async function load(append) {
    const mine = ++generation;
    const limit = append ? PAGE : Math.min(200, Math.max(PAGE, table.size));
    if (!append) stream.hold();
    let page;
    try {
      page = await api(listUrl(filter, limit, append ? nextCursor : null));
    } catch (error) {
      if (mine === generation && error.status !== 401) view.live.textContent = `Could not load jobs: ${error.message}`;
      if (mine === generation) stream.release();
      return;
    }
    if (stopped || mine !== generation) return;
    if (!append) table.clear();
    for (const job of page.items) table.place(job, { fromPage: true });
    nextCursor = page.next_cursor;
    settle();
    stream.release();
  }

  async function loadCounts() {
    const mine = ++countsAsked;
    let body;
    try {
      body = await api(`/api/v1/jobs/counts?${filterParams(filter)}`);
    } catch {
      return;
    }
    if (stopped || mine !== countsAsked) return; // a newer answer is on its way
    paintCounts(view, body, filter);
  }

  // At most one counts request per COUNTS_DELAY_MS however many jobs change meanwhile.
  function refreshCounts() {
    if (countsTimer) return;
    countsTimer = setTimeout(() => {
      countsTimer = 0;
      loadCounts();
    }, COUNTS_DELAY_MS);
  }

  function show(job) {
    if (matches(filter, job)) table.place(job, { more: Boolean(nextCursor) });
    else table.drop(job.id);
    settle();
  }

  // While a job is being fetched, the newest event seq seen for it. A reply read before that
  // event happened is stale: it is not shown (it would undo what the event did) and the job is
  // fetched again.
  function noteEvent(data) {
    if (fetching.has(data.job_id)) fetching.set(data.job_id, Math.max(fetching.get(data.job_id), data.seq));
  }

  async function fetchAndPlace(jobId, seq) {
    if (fetching.has(jobId)) {
      fetching.set(jobId, Math.max(fetching.get(jobId), seq));
      return;
    }
    fetching.set(jobId, seq);
    let summary = null;
    try {
      const { steps, metrics, report, version, allowed_actions, ...rest } = await api(`/api/v1/jobs/${jobId}`);
      summary = rest;
    } catch {
      // Gone or not readable: nothing to show.
    }
    const newest = fetching.get(jobId);
    fetching.delete(jobId);
    if (stopped || !summary) return;
    if (summary.last_event_seq < newest) return fetchAndPlace(jobId, newest);
    const shown = table.get(jobId);
    if (shown && shown.last_event_seq > summary.last_event_seq) return;
    show(summary);
  }

  function onStatus(data) {
    refreshCounts();
    noteEvent(data);
    const job = table.get(data.job_id);
    if (!job) {
      // A job this view does not show yet: show it if it belongs here now.
      if (!filter.status || filter.status === data.status || fetching.has(data.job_id)) fetchAndPlace(data.job_id, data.seq);
      return;
    }
    const next = withStatus(job, data);
    if (next) show(next);
  }

  function onStep(data) {
    noteEvent(data);
    const job = table.get(data.job_id);
    const next = job && withStep(job, data);
    if (next) table.place(next);
  }

  const stream = workspaceStream({
    onReady: () => {
      load(false);
      loadCounts();
    },
    onStatus,
    onStep,
    onState: (text) => {
      if (!stopped) view.live.textContent = text;
    },
  });

  view.tablist.addEventListener("click", (event) => {
    const tab = event.target instanceof Element ? event.target.closest("[role=tab]") : null;
    if (tab) setFilter({ status: tab.dataset.status });
  });
  view.tablist.addEventListener("keydown", (event) => {
    const index = view.tabs.findIndex((tab) => tab.dataset.status === filter.status);
    const last = view.tabs.length - 1;
    const next = { ArrowRight: index === last ? 0 : index + 1, ArrowLeft: index === 0 ? last : index - 1, Home: 0, End: last }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    setFilter({ status: view.tabs[next].dataset.status }, true);
  });
  view.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => setFilter({ q: view.search.value.trim() }), SEARCH_DELAY_MS);
  });
  view.trigger.addEventListener("change", () => setFilter({ trigger: view.trigger.value }));
  view.loadMore.addEventListener("click", () => load(true));
  const ticker = setInterval(() => table.tick(), 1000);

  showFilters();
  return () => {
    stopped = true;
    stream.close();
    clearInterval(ticker);
    clearTimeout(countsTimer);
    clearTimeout(searchTimer);
  };
}
