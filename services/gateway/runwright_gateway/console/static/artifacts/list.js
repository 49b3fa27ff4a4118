// A job's artifacts on its detail page, grouped by kind: screenshots as a gallery (a thumbnail
// opens the full image in a viewer), videos as players, exports and downloads as file rows, CSV
// and JSON files with a preview. Every item has a Download link to the API's download URL (the
// session cookie authenticates it; with S3 the gateway redirects to a presigned URL). Each item
// is built once and kept.
import { fileSize, h } from "../ui.js";
import { previewBlock, previewKind } from "./preview.js";
import { screenshotViewer, shotCaption } from "./viewer.js";

const ARTIFACT_GROUPS = [
  ["screenshot", "Screenshots"],
  ["video", "Videos"],
  ["export", "Exports"],
  ["download", "Downloads"],
  ["other", "Other files"],
];
const PREVIEW_OPEN_BYTES = 256 * 1024; // exports up to this size show their preview at once
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

  // Once the job has ended the list is complete: an empty one says so instead of "yet".
  function finish() {
    empty.textContent = "This job produced no artifacts.";
  }

  return { list, viewer: viewer.dialog, add, find, finish, all: () => [...byId.values()], close: viewer.close };
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


function videoPlayer(a) {
  return h(
    "video",
    { controls: true, preload: "metadata", src: `${a.url}?inline=1`, "aria-label": `Recording of the run: ${a.name}` },
    h("p", {}, "This browser cannot play the recording; use the Download link."),
  );
}

