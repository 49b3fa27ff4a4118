// The full-size screenshot viewer over the artifact gallery, and the captions both use.
import { h } from "../ui.js";

// "Step 3", "Step 3 · before approval", "Step 3 · at the failure".
export function shotCaption(a) {
  const step = a.ordinal === null ? "Screenshot" : `Step ${a.ordinal + 1}`;
  if (/-approval(-\d+)?\.\w+$/.test(a.name)) return `${step} · before approval`;
  if (/-failure(-\d+)?\.\w+$/.test(a.name)) return `${step} · at the failure`;
  return step;
}

// A modal viewer over the gallery: the full image, Previous / Next (also ← and →), Download.
export function screenshotViewer(shots) {
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
