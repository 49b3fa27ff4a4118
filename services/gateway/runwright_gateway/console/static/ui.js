// Small DOM and formatting helpers. Text always goes in through textContent, never innerHTML.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const STATUS_LABELS = {
  scheduled: "Scheduled",
  queued: "Queued",
  running: "Running",
  waiting_for_approval: "Waiting for approval",
  paused: "Paused",
  completed: "Completed",
  failed: "Failed",
  cancelled: "Cancelled",
  pending: "Pending",
  success: "Success",
  skipped: "Skipped",
};

export const TERMINAL = new Set(["completed", "failed", "cancelled"]);

// What each job status means, as the Jobs page explains it.
export const STATUS_DESCRIPTIONS = {
  scheduled: "Waiting for the scheduled execution time",
  queued: "In the job queue, waiting for a worker",
  running: "Currently executing steps",
  waiting_for_approval: "Paused, waiting for user approval on a step",
  paused: "Manually paused by a user",
  completed: "Finished successfully",
  failed: "Finished with one or more errors",
  cancelled: "Cancelled by a user",
};

export function badge(status) {
  return h(
    "span",
    { class: `badge badge-${status}`, title: STATUS_DESCRIPTIONS[status] },
    STATUS_LABELS[status] || status,
  );
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round(seconds % 60);
  if (minutes < 60) return `${minutes} min ${rest} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

// A moment as people say it ("3 min ago", "in 2 h"), the exact time on hover.
export function ago(iso) {
  if (!iso) return h("span", { class: "muted" }, "—");
  const date = new Date(iso);
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const steps = [
    [60, "second"],
    [3600, "minute"],
    [86400, "hour"],
    [86400 * 30, "day"],
    [86400 * 365, "month"],
  ];
  let text = date.toLocaleString();
  const size = Math.abs(seconds);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  let unit = 1;
  for (const [limit, name] of steps) {
    if (size < limit) {
      text = format.format(Math.round(seconds / unit), name);
      break;
    }
    unit = limit;
  }
  return h("time", { datetime: iso, title: date.toLocaleString() }, text);
}

export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return h("time", { datetime: iso, title: date.toISOString() }, date.toLocaleString());
}

// A byte count for people: "812 B", "4.2 KiB", "64 KiB", "1.5 MiB".
export function fileSize(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

export function formatValue(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function valuesList(values) {
  const entries = Object.entries(values || {});
  if (!entries.length) return null;
  return h(
    "dl",
    { class: "values" },
    entries.map(([key, value]) => [h("dt", {}, key), h("dd", {}, formatValue(value))]),
  );
}

// A short note at the bottom of the page (a polite live region). Returns a handle that
// dismissToast takes: a toast is dismissed only while it is still the one showing.
let toastTimer = 0;
let toastShown = 0;
export function toast(message) {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.hidden = false;
  const mine = ++toastShown;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => dismissToast(mine), 6000);
  return mine;
}

export function dismissToast(handle) {
  if (!handle || handle !== toastShown) return;
  clearTimeout(toastTimer);
  const node = document.getElementById("toast");
  node.hidden = true;
  node.textContent = "";
}

// The scheduler labels every job it starts with its schedule's id; the Jobs page searches by it.
export const SCHEDULE_LABEL = "runwright.schedule";
export function scheduleJobsUrl(scheduleId) {
  return `/console/jobs?${new URLSearchParams({ q: `${SCHEDULE_LABEL}=${scheduleId}` })}`;
}
