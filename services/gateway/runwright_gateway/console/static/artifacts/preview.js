// Previews of CSV and JSON artifacts: fetched the first time they are opened, at most a
// megabyte read, CSV as a table of its first rows and JSON pretty-printed.
import { fileSize, h } from "../ui.js";
import { parseCsv } from "./csv.js";

const PREVIEW_ROWS = 50; // CSV rows shown under the header
const PREVIEW_BYTES = 1024 * 1024; // the most of a file read for its preview
const PREVIEW_JSON_LINES = 400;

export function previewKind(a) {
  const type = a.contentType.split(";")[0].trim().toLowerCase();
  const name = a.name.toLowerCase();
  if (type === "text/csv" || name.endsWith(".csv")) return "csv";
  if (type === "application/json" || type.endsWith("+json") || name.endsWith(".json")) return "json";
  return null;
}

// The preview is fetched the first time it is opened (at once for small exports).
export function previewBlock(a, kind, open, signal) {
  const body = h("div", { class: "preview-body" }, h("p", { class: "muted small" }, "Loading the preview…"));
  const label = kind === "csv" ? `Table preview (first ${PREVIEW_ROWS} rows)` : "Formatted preview";
  const details = h("details", { class: "preview", open }, h("summary", {}, label), body);
  let started = false;
  const load = () => {
    if (started) return;
    started = true;
    fillPreview(a, kind, body, signal);
  };
  details.addEventListener("toggle", () => {
    if (details.open) load();
  });
  if (open) load();
  return details;
}

async function fillPreview(a, kind, body, signal) {
  const note = (text) => h("p", { class: "muted small" }, text);
  if (kind === "json" && a.size > PREVIEW_BYTES) {
    body.replaceChildren(note(`Too large to preview here (${fileSize(a.size)}); download the file to read it.`));
    return;
  }
  try {
    const { text, cut } = await fetchHead(a, PREVIEW_BYTES, signal);
    body.replaceChildren(...(kind === "csv" ? csvPreview(a, text, cut) : jsonPreview(a, text)).filter(Boolean));
  } catch {
    if (signal.aborted) return;
    body.replaceChildren(note("The preview could not be loaded; the Download link still works."));
  }
}

// At most `limit` bytes of the file as text; `cut` when the file goes on.
async function fetchHead(a, limit, signal) {
  const response = await fetch(a.url, { credentials: "same-origin", signal });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const reader = response.body.getReader();
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      break;
    }
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  const cut = size > limit;
  return { text: new TextDecoder().decode(cut ? bytes.subarray(0, limit) : bytes), cut };
}

function csvPreview(a, text, cut) {
  const { rows, more } = parseCsv(text, PREVIEW_ROWS + 1, cut);
  if (!rows.length) return [h("p", { class: "muted small" }, "The file is empty.")];
  const [header, ...body] = rows;
  const width = Math.max(...rows.map((row) => row.length));
  const cells = (row, tag, attrs) =>
    Array.from({ length: width }, (_, i) => {
      const value = row[i] ?? "";
      return h(tag, { ...attrs, title: value.length > 40 ? value : null }, value);
    });
  const table = h(
    "table",
    { class: "csv-preview" },
    h("caption", { class: "visually-hidden" }, `The first rows of ${a.name}`),
    h("thead", {}, h("tr", {}, cells(header, "th", { scope: "col" }))),
    h("tbody", {}, body.map((row) => h("tr", {}, cells(row, "td", {})))),
  );
  const rowsText = `${body.length} ${body.length === 1 ? "row" : "rows"}`;
  return [
    h("div", { class: "table-scroll preview-scroll", tabindex: "0", role: "region", "aria-label": `Preview of ${a.name}` }, table),
    h("p", { class: "muted small" }, more ? `The first ${rowsText}; download the file for the rest.` : `${rowsText}.`),
  ];
}

function jsonPreview(a, text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return [h("p", { class: "muted small" }, "This file is not valid JSON; download it to read it.")];
  }
  const lines = JSON.stringify(value, null, 2).split("\n");
  const more = lines.length > PREVIEW_JSON_LINES;
  return [
    h("pre", { class: "json-preview", tabindex: "0", role: "region", "aria-label": `Preview of ${a.name}` }, (more ? lines.slice(0, PREVIEW_JSON_LINES) : lines).join("\n")),
    more ? h("p", { class: "muted small" }, `The first ${PREVIEW_JSON_LINES} lines; download the file for the rest.`) : null,
  ];
}

