// A job's artifacts on its detail page.
import { fileSize, h } from "./ui.js";

// Grouped by kind: screenshots as a gallery (a thumbnail opens the full image in a viewer),
// videos as players, exports and downloads as file rows, CSV and JSON files with a preview.
// Every item has a Download link to the API's download URL (the session cookie authenticates
// it; with S3 the gateway redirects to a presigned URL). Each item is built once and kept.

const ARTIFACT_GROUPS = [
  ["screenshot", "Screenshots"],
  ["video", "Videos"],
  ["export", "Exports"],
  ["download", "Downloads"],
  ["other", "Other files"],
];
const PREVIEW_ROWS = 50; // CSV rows shown under the header
const PREVIEW_BYTES = 1024 * 1024; // the most of a file read for its preview
const PREVIEW_OPEN_BYTES = 256 * 1024; // exports up to this size show their preview at once
const PREVIEW_JSON_LINES = 400;
const LAST = Number.MAX_SAFE_INTEGER;

// One shape for both sources: the list endpoint (`id`, `url`) and `artifact` events (`artifact_id`).
function artifactFrom(data) {
  const id = data.id || data.artifact_id;
  return {
    id,
    kind: data.kind,
    name: data.name,
    size: data.size,
    contentType: data.content_type || "application/octet-stream",
    ordinal: data.ordinal ?? null,
    url: data.url || `/api/v1/artifacts/${id}`,
  };
}

export function artifactList(signal) {
  const byId = new Map();
  const groups = new Map();
  const empty = h("li", { class: "muted" }, "No artifacts yet.");
  const list = h("ul", { class: "artifacts", id: "artifacts" }, empty);
  const viewer = screenshotViewer(() => [...groups.get("screenshot").items.children].map((node) => byId.get(node.dataset.id)));
  for (const [kind, label] of ARTIFACT_GROUPS) {
    const count = h("span", { class: "muted" });
    const items = h("ul", { class: kind === "screenshot" ? "gallery" : "artifact-rows", "aria-labelledby": `artifacts-${kind}` });
    const node = h("li", { class: "artifact-group", dataset: { kind }, hidden: true }, h("h3", { class: "small", id: `artifacts-${kind}` }, label, " ", count), items);
    groups.set(kind, { node, items, count });
    list.append(node);
  }

  function item(a) {
    switch (a.kind) {
      case "screenshot":
        return screenshotItem(a, viewer);
      case "video":
        return h("li", { class: "artifact artifact-row artifact-video" }, videoPlayer(a), fileFacts(a));
      default: {
        const preview = previewKind(a);
        const open = a.kind === "export" && a.size <= PREVIEW_OPEN_BYTES;
        return h("li", { class: `artifact artifact-row artifact-${a.kind}` }, fileFacts(a), preview ? previewBlock(a, preview, open, signal) : null);
      }
    }
  }

  // Within a group in step order (screenshots of one step, and a video, in arrival order).
  function insert(group, node, key) {
    const after = [...group.items.children].find((other) => Number(other.dataset.key) > key);
    group.items.insertBefore(node, after || null);
  }

  function add(rawItems) {
    for (const raw of rawItems) {
      const a = artifactFrom(raw);
      if (!a.id || byId.has(a.id)) continue;
      byId.set(a.id, a);
      const group = groups.get(a.kind) || groups.get("other");
      const key = a.ordinal ?? LAST;
      const node = item(a);
      node.dataset.id = a.id;
      node.dataset.key = String(key);
      insert(group, node, key);
      group.node.hidden = false;
      group.count.textContent = `(${group.items.children.length})`;
    }
    empty.hidden = byId.size > 0;
  }

  // The artifact a step recorded under this file name (a failed step's screenshot).
  function find(ordinal, name) {
    for (const a of byId.values()) if (a.ordinal === ordinal && a.name === name) return a;
    return null;
  }

  return { list, viewer: viewer.dialog, add, find, close: viewer.close };
}

function downloadLink(a) {
  return h("a", { class: "button download", href: a.url, download: a.name }, "Download", h("span", { class: "visually-hidden" }, ` ${a.name}`));
}

function stepLabel(a) {
  return a.ordinal === null ? null : `step ${a.ordinal + 1}`;
}

function fileFacts(a) {
  const facts = [fileSize(a.size), a.contentType, stepLabel(a)].filter(Boolean).join(" · ");
  return h(
    "div",
    { class: "artifact-file" },
    h("span", { class: "artifact-name" }, a.name),
    h("span", { class: "artifact-facts muted small" }, facts),
    downloadLink(a),
  );
}

// "Step 3", "Step 3 · before approval", "Step 3 · at the failure".
function shotCaption(a) {
  const step = a.ordinal === null ? "Screenshot" : `Step ${a.ordinal + 1}`;
  if (/-approval(-\d+)?\.\w+$/.test(a.name)) return `${step} · before approval`;
  if (/-failure(-\d+)?\.\w+$/.test(a.name)) return `${step} · at the failure`;
  return step;
}

function screenshotItem(a, viewer) {
  const caption = shotCaption(a);
  return h(
    "li",
    { class: "artifact artifact-screenshot" },
    h(
      "button",
      { type: "button", class: "thumb", "aria-haspopup": "dialog", title: `${a.name}: view full size`, onclick: () => viewer.show(a.id) },
      h("img", { src: `${a.url}?inline=1`, alt: `${caption}, view full size`, loading: "lazy", decoding: "async" }),
    ),
    h("span", { class: "artifact-caption small" }, caption),
    downloadLink(a),
  );
}

// A modal viewer over the gallery: the full image, Previous / Next (also ← and →), Download.
function screenshotViewer(shots) {
  const heading = h("h2", { id: "artifact-viewer-title" });
  const image = h("img", { class: "viewer-image", alt: "" });
  const position = h("span", { class: "muted small" });
  const previous = h("button", { type: "button" }, "← Previous");
  const next = h("button", { type: "button" }, "Next →");
  const download = h("a", { class: "button download" }, "Download");
  const dialog = h(
    "dialog",
    { id: "artifact-viewer", class: "viewer", "aria-labelledby": "artifact-viewer-title" },
    h("form", { method: "dialog", class: "viewer-head" }, heading, h("button", { value: "close" }, "Close")),
    image,
    h("div", { class: "row viewer-nav" }, previous, position, next, download),
  );
  let list = [];
  let index = 0;
  let opener = null;

  function paint() {
    const a = list[index];
    heading.textContent = `${shotCaption(a)} — ${a.name}`;
    image.src = `${a.url}?inline=1`;
    image.alt = `Screenshot: ${shotCaption(a)}`;
    download.href = a.url;
    download.download = a.name;
    download.replaceChildren("Download", h("span", { class: "visually-hidden" }, ` ${a.name}`));
    position.textContent = `${index + 1} of ${list.length}`;
    previous.disabled = index === 0;
    next.disabled = index === list.length - 1;
  }
  function move(by) {
    const to = Math.min(Math.max(index + by, 0), list.length - 1);
    if (to === index) return;
    index = to;
    paint();
  }
  previous.addEventListener("click", () => move(-1));
  next.addEventListener("click", () => move(1));
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") move(-1);
    else if (event.key === "ArrowRight") move(1);
  });
  dialog.addEventListener("close", () => {
    if (opener && opener.isConnected) opener.focus();
    opener = null;
  });

  return {
    dialog,
    show(id) {
      list = shots();
      index = Math.max(list.findIndex((a) => a.id === id), 0);
      if (!list.length) return;
      opener = document.activeElement;
      paint();
      if (!dialog.open) dialog.showModal();
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}

function videoPlayer(a) {
  return h(
    "video",
    { controls: true, preload: "metadata", src: `${a.url}?inline=1`, "aria-label": `Recording of the run: ${a.name}` },
    h("p", {}, "This browser cannot play the recording; use the Download link."),
  );
}

function previewKind(a) {
  const type = a.contentType.split(";")[0].trim().toLowerCase();
  const name = a.name.toLowerCase();
  if (type === "text/csv" || name.endsWith(".csv")) return "csv";
  if (type === "application/json" || type.endsWith("+json") || name.endsWith(".json")) return "json";
  return null;
}

// The preview is fetched the first time it is opened (at once for small exports).
function previewBlock(a, kind, open, signal) {
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

// CSV as written by spreadsheets and by Runwright's exports (RFC 4180): comma-separated fields,
// a field in double quotes may hold commas, line breaks and "" for a quote; lines end in LF, CRLF
// or CR; blank lines are skipped. At most `maxRows` rows; `partial` text (a file cut short)
// drops its last, perhaps incomplete, row. `more`: the file has rows beyond those returned.
export function parseCsv(text, maxRows = Infinity, partial = false) {
  const rows = [];
  let row = [];
  let field = "";
  let quoted = false; // inside a quoted field
  let fieldStart = true; // nothing of the current field read yet
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endRow = () => {
    row.push(field);
    if (row.length > 1 || row[0] !== "") rows.push(row);
    row = [];
    field = "";
    fieldStart = true;
  };
  while (i < text.length) {
    const c = text[i];
    i += 1;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i] === '"') {
        field += '"';
        i += 1;
      } else quoted = false;
    } else if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
    } else if (c === ",") {
      row.push(field);
      field = "";
      fieldStart = true;
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i] === "\n") i += 1;
      endRow();
      if (rows.length >= maxRows) return { rows, more: partial || /\S/.test(text.slice(i)) };
    } else {
      field += c;
      fieldStart = false;
    }
  }
  if (!partial && (!fieldStart || row.length)) endRow();
  return { rows: rows.slice(0, maxRows), more: partial };
}
