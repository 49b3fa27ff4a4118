// The Jobs page's state: the filter (status tab, search, trigger, batch) read from and written to
// the URL, which jobs it matches and in what order, and how status and step events change a
// job's summary. Nothing here touches the page.
import { STATUS_DESCRIPTIONS, TERMINAL } from "../ui.js";

export const TABS = [
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
export const TAB_TITLES = Object.fromEntries(TABS.map(([value]) => [value, value ? STATUS_DESCRIPTIONS[value] : "Every job"]));
export const TRIGGERS = [
  ["", "Any trigger"],
  ["api", "API"],
  ["schedule", "Schedule"],
  ["batch", "Batch"],
];
export const TRIGGER_LABELS = Object.fromEntries(TRIGGERS.filter(([value]) => value));
export const PAGE = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TICKING = new Set(["running", "paused", "waiting_for_approval"]);

export function filterFrom(params, initialStatus) {
  return {
    status: TABS.some(([value]) => value === initialStatus) ? initialStatus : "",
    q: params.get("q") || "",
    trigger: TRIGGER_LABELS[params.get("trigger")] ? params.get("trigger") : "",
    batch: UUID.test(params.get("batch") || "") ? params.get("batch") : "",
  };
}

export function narrowed(filter) {
  return Boolean(filter.q || filter.trigger || filter.batch);
}

// The page's own URL for this filter (shareable, survives a reload).
export function pageUrl(filter) {
  const url = new URLSearchParams();
  if (filter.status) url.set("status", filter.status);
  if (filter.q) url.set("q", filter.q);
  if (filter.trigger) url.set("trigger", filter.trigger);
  if (filter.batch) url.set("batch", filter.batch);
  const query = url.toString();
  return query ? `/console/jobs?${query}` : "/console/jobs";
}

// The search, trigger and batch filters as API parameters (the tabs' counts follow them too).
export function filterParams(filter) {
  const params = new URLSearchParams();
  if (filter.q) params.set("q", filter.q);
  if (filter.trigger) params.set("trigger", filter.trigger);
  if (filter.batch) params.set("batch_id", filter.batch);
  return params;
}

export function listUrl(filter, limit, cursor) {
  const params = filterParams(filter);
  params.set("limit", String(limit));
  if (filter.status) params.set("status", filter.status);
  if (cursor) params.set("cursor", cursor);
  return `/api/v1/jobs?${params}`;
}

export function matches(filter, job) {
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
export function newer(a, b) {
  if (a.created_at !== b.created_at) return new Date(a.created_at) > new Date(b.created_at);
  return a.id > b.id;
}

// Whether the job's time so far keeps growing (and so is counted on the page every second).
export function ticking(job) {
  return TICKING.has(job.status) && Boolean(job.started_at);
}

export function elapsedMs(job, now = Date.now()) {
  if (job.duration_ms !== null && job.duration_ms !== undefined) return job.duration_ms;
  if (job.started_at && !TERMINAL.has(job.status)) return Math.max(0, now - new Date(job.started_at).getTime());
  return null;
}

// Steps done as a person counts them: those that succeeded (every step of a completed job is
// done, skips a person chose included); a failed step is never counted as done.
export function stepsDone(job) {
  const total = job.steps_total || 0;
  if (job.status === "completed") return total;
  return Math.min(job.steps_succeeded || 0, total);
}

// A job summary after a `status` event; null when the summary already reflects it.
export function withStatus(job, data) {
  if (data.seq <= job.last_event_seq) return null;
  const next = { ...job, status: data.status, last_event_seq: data.seq, reason: data.reason ?? job.reason };
  if (data.status === "running" && !next.started_at) next.started_at = data.at;
  if (data.status === "queued" && data.previous && data.previous !== "scheduled") {
    next.steps_done = 0; // requeued: it starts again from the first step
    next.steps_succeeded = 0;
    next.started_at = null;
  }
  if (TERMINAL.has(data.status)) {
    next.finished_at = data.at;
    if (next.started_at) next.duration_ms = Math.max(0, new Date(data.at) - new Date(next.started_at));
  }
  return next;
}

// A job summary after a `step` event (the same counts as the API's: steps_done ran to an end,
// steps_succeeded succeeded).
export function withStep(job, data) {
  if (data.seq <= job.last_event_seq) return null;
  const finished = data.status === "success" || data.status === "failed";
  const done = finished ? Math.min(job.steps_done + 1, job.steps_total) : job.steps_done;
  const succeeded = (job.steps_succeeded || 0) + (data.status === "success" ? 1 : 0);
  return { ...job, last_event_seq: data.seq, steps_done: done, steps_succeeded: Math.min(succeeded, job.steps_total) };
}
