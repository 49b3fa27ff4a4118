// Shared bits of the people pages (team, keys, audit, accept): role selects, a confirmation
// dialog, copying a secret, and an API error as a sentence.
import { h } from "../ui.js";
import { grantable, roleLabel } from "../roles.js";

// A <select> of the roles the caller may give, `selected` chosen.
export function roleSelect(attrs, selected) {
  const roles = grantable();
  if (selected && !roles.includes(selected)) roles.unshift(selected);
  return h(
    "select",
    attrs,
    roles.map((role) => h("option", { value: role, selected: role === selected }, roleLabel(role))),
  );
}

// An ApiError as text for people: the field errors when the gateway named them.
export function problemText(error) {
  const errors = error?.problem?.errors;
  if (Array.isArray(errors) && errors.length) return errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join("; ");
  if (error?.status === 429) return `Too many attempts; try again in ${error.retryAfter || "a few"} s.`;
  return error?.message || "Something went wrong.";
}

// A modal asking to confirm a change that cannot be undone: resolves true on confirm.
export function confirmDialog({ id, title, body, confirmLabel, cancelLabel = "Keep it" }) {
  const dialog = h(
    "dialog",
    { id, "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-body` },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: `${id}-title` }, title),
      h("p", { id: `${id}-body` }, body),
      h("div", { class: "row end" }, h("button", { value: "keep", class: "secondary" }, cancelLabel), h("button", { value: "confirm", class: "danger" }, confirmLabel)),
    ),
  );
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// A read-only field showing a secret (a key, a link) with a Copy button and a live status line.
export function copyBox({ id, label, value, note }) {
  const input = h("input", { id, type: "text", readonly: true, value, class: "secret", spellcheck: "false", "aria-describedby": `${id}-note ${id}-copied` });
  const copied = h("p", { id: `${id}-copied`, class: "small muted", role: "status" });
  const button = h("button", { type: "button", class: "secondary" }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(value);
      copied.textContent = "Copied.";
    } catch {
      input.select();
      copied.textContent = document.execCommand("copy") ? "Copied." : "Select the text and copy it.";
    }
  });
  return h(
    "div",
    { class: "copy-box" },
    h("label", { for: id }, label),
    h("div", { class: "row copy-row" }, input, button),
    h("p", { id: `${id}-note`, class: "small" }, note),
    copied,
  );
}
