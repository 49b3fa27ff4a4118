// The job page's activity log: who did what to the job and when, from its own events (every
// status change with its actor and reason, every approval request and decision), oldest first.
// Events replayed on a reconnect are kept once (by their sequence number).
import { STATUS_LABELS, h, when } from "../ui.js";

const DECIDED = { approved: "approved", rejected: "rejected", skipped: "skipped", timed_out: "timed out", cancelled: "cancelled" };

function person(actor) {
  if (!actor) return null;
  if (actor.startsWith("executor:")) return `executor ${actor.slice(9)}`;
  return actor.replace(/^user:/, "");
}

function describe(kind, data) {
  if (kind === "status") {
    const label = STATUS_LABELS[data.status] || data.status;
    const actor = person(data.actor);
    const head = data.previous ? label : `Submitted (${label.toLowerCase()})`;
    return [head, actor ? ` by ${actor}` : "", data.reason ? ` — ${data.reason}` : ""].join("");
  }
  const step = `step ${data.ordinal + 1}`;
  if (data.state === "requested") return `Approval requested before ${step}`;
  const actor = person(data.actor);
  return [`Approval of ${step} ${DECIDED[data.state] || data.state}`, actor ? ` by ${actor}` : "", data.reason ? ` — ${data.reason}` : ""].join("");
}

export function activityLog() {
  const seen = new Set();
  const list = h("ol", { id: "activity", class: "activity" });
  const empty = h("p", { class: "muted small" }, "Nothing yet.");
  return {
    node: h("div", {}, list, empty),
    // A `status` or `approval` event of the job's stream.
    add(kind, data) {
      if (seen.has(data.seq)) return;
      seen.add(data.seq);
      empty.hidden = true;
      const item = h("li", { dataset: { seq: String(data.seq), kind, actor: data.actor || "" } }, when(data.at), " ", describe(kind, data));
      const later = [...list.children].find((node) => Number(node.dataset.seq) > data.seq);
      list.insertBefore(item, later || null);
    },
  };
}
