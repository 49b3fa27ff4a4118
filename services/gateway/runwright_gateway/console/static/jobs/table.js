// The jobs shown, in the API's order, and their table rows: a changed job replaces its row, a new
// one goes in at its place, one that no longer matches the filter leaves.
import { elapsedText, jobRow } from "./render.js";
import { newer, ticking } from "./state.js";

export function jobsTable(tbody) {
  let items = [];
  const rows = new Map();

  function clear() {
    items = [];
    rows.clear();
    tbody.replaceChildren();
  }

  function replace(job) {
    const index = items.findIndex((item) => item.id === job.id);
    items[index] = job;
    const node = jobRow(job);
    rows.get(job.id).replaceWith(node);
    rows.set(job.id, node);
  }

  // `more`: older jobs exist beyond the rows shown (a job older than all of them stays out).
  function place(job, { fromPage = false, more = false } = {}) {
    if (rows.has(job.id)) return replace(job);
    let index = fromPage ? items.length : items.findIndex((item) => newer(job, item));
    if (index < 0) {
      if (more) return;
      index = items.length;
    }
    const node = jobRow(job);
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

  // Running rows show their time so far, counted here (nothing is fetched for it).
  function tick() {
    for (const job of items) {
      if (!ticking(job)) continue;
      const cell = rows.get(job.id)?.querySelector("[data-elapsed]");
      if (cell) cell.textContent = elapsedText(job);
    }
  }

  return {
    clear,
    place,
    drop,
    tick,
    get: (jobId) => items.find((item) => item.id === jobId),
    get size() {
      return items.length;
    },
  };
}
