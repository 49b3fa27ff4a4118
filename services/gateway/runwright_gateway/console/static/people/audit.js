// The Audit page: the workspace's audit log newest first, filtered by actor, action, outcome and
// time, paged with "Older", and downloadable (CSV, JSON Lines) with the same filters.
import { api } from "../api.js";
import { localToIso, zoneLabel } from "../newjob/fields.js";
import { h, when } from "../ui.js";
import { problemText } from "./common.js";

const PAGE = 50;
const COLUMNS = ["Time", "Actor", "Action", "Target", "Outcome", "Source"];
const OUTCOMES = [
  ["", "Any"],
  ["ok", "OK"],
  ["denied", "Denied"],
  ["failed", "Failed"],
];
const FIELDS = ["actor", "action", "outcome", "since", "until"];

// The filters as the API's query (since/until: local date-times as ISO with the offset).
function query(filter, extra = {}) {
  const params = new URLSearchParams();
  for (const name of FIELDS) {
    const value = name === "since" || name === "until" ? localToIso(filter[name]) : filter[name];
    if (value) params.set(name, value);
  }
  for (const [name, value] of Object.entries(extra)) params.set(name, String(value));
  return params;
}

export function renderAudit(main) {
  document.title = "Audit · Runwright";
  const url = new URL(location.href);
  const filter = Object.fromEntries(FIELDS.map((name) => [name, url.searchParams.get(name) || ""]));
  let stopped = false;
  let nextBefore = null;
  let generation = 0;

  const input = (name, label, attrs = {}) => {
    const node = h("input", { id: `audit-${name}`, name, value: filter[name], autocomplete: "off", spellcheck: "false", ...attrs });
    return [node, h("div", { class: "field" }, h("label", { for: `audit-${name}` }, label), node)];
  };
  const [actor, actorField] = input("actor", "Actor", { type: "text", placeholder: "user:ana@example.com" });
  const [action, actionField] = input("action", "Action", { type: "text", placeholder: "key.create" });
  const [since, sinceField] = input("since", "Since", { type: "datetime-local", "aria-describedby": "audit-zone" });
  const [until, untilField] = input("until", "Until", { type: "datetime-local", "aria-describedby": "audit-zone" });
  const outcome = h("select", { id: "audit-outcome", name: "outcome" }, OUTCOMES.map(([value, label]) => h("option", { value, selected: value === filter.outcome }, label)));
  const tbody = h("tbody");
  const status = h("p", { id: "audit-status", class: "muted small", role: "status" }, "Loading…");
  const problem = h("p", { id: "audit-error", class: "error", role: "alert" });
  const older = h("button", { type: "button", class: "secondary", hidden: true }, "Older");
  const csv = h("a", { class: "button secondary", download: "" }, "Download CSV");
  const jsonl = h("a", { class: "button secondary", download: "" }, "Download JSON Lines");
  const form = h(
    "form",
    { class: "card form-section audit-filters", role: "search", "aria-label": "Filter the audit log" },
    h("div", { class: "form-grid" }, actorField, actionField, h("div", { class: "field" }, h("label", { for: "audit-outcome" }, "Outcome"), outcome), sinceField, untilField),
    h("p", { id: "audit-zone", class: "muted small field-hint" }, zoneLabel()),
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Apply filters"), h("button", { type: "reset", class: "secondary" }, "Clear")),
  );

  function paintLinks() {
    csv.href = `/api/v1/audit?${query(filter, { format: "csv" })}`;
    jsonl.href = `/api/v1/audit?${query(filter, { format: "jsonl" })}`;
    const params = new URLSearchParams(Object.entries(filter).filter(([, value]) => value));
    history.replaceState(null, "", `/console/audit${params.size ? `?${params}` : ""}`);
  }

  function entryRow(e) {
    return h(
      "tr",
      { dataset: { auditId: String(e.id), action: e.action, outcome: e.outcome }, title: Object.keys(e.detail || {}).length ? JSON.stringify(e.detail) : undefined },
      h("td", {}, when(e.at)),
      h("td", { class: "audit-actor" }, e.actor),
      h("td", { class: "audit-action" }, h("code", {}, e.action)),
      h("td", { class: "audit-target" }, e.target || "—"),
      h("td", {}, h("span", { class: `badge badge-outcome-${e.outcome}` }, e.outcome), e.status ? h("span", { class: "muted small" }, ` ${e.status}`) : null),
      h("td", {}, e.source || "—"),
    );
  }

  async function load(append) {
    const mine = ++generation;
    problem.textContent = "";
    status.textContent = "Loading…";
    try {
      const page = await api(`/api/v1/audit?${query(filter, { limit: PAGE, ...(append && nextBefore ? { before: nextBefore } : {}) })}`);
      if (stopped || mine !== generation) return;
      const rows = page.items.map(entryRow);
      if (append) tbody.append(...rows);
      else tbody.replaceChildren(...rows);
      nextBefore = page.next_before;
      older.hidden = !nextBefore;
      const shown = tbody.children.length;
      status.textContent = shown ? `${shown} ${shown === 1 ? "entry" : "entries"} shown${nextBefore ? "; older ones exist" : ""}.` : "No entries match.";
    } catch (error) {
      if (stopped || mine !== generation || error.status === 401) return;
      status.textContent = "";
      problem.textContent = `Could not load the audit log: ${problemText(error)}`;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    Object.assign(filter, { actor: actor.value.trim(), action: action.value.trim(), outcome: outcome.value, since: since.value, until: until.value });
    nextBefore = null;
    paintLinks();
    load(false);
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault(); // a reset would bring back the filters the page opened with
    for (const node of [actor, action, outcome, since, until]) node.value = "";
    form.requestSubmit();
  });
  older.addEventListener("click", () => load(true));

  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Audit log"), h("span", { class: "row tight downloads" }, csv, jsonl)),
    form,
    problem,
    h(
      "div",
      { class: "table-scroll" },
      h("table", { class: "jobs audit" }, h("caption", { class: "visually-hidden" }, "Audit log, newest first"), h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", { scope: "col" }, c)))), tbody),
    ),
    h("div", { class: "row" }, older, status),
  );
  paintLinks();
  load(false);
  return () => {
    stopped = true;
  };
}
