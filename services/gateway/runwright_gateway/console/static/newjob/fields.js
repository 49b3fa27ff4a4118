// The New job form's building blocks: labelled fields with hints and errors, error lists, and
// local date-times turned into ISO timestamps with the browser's offset.
import { h } from "../ui.js";

// "2026-03-01T09:30" as typed in the browser's zone → "2026-03-01T09:30:00+01:00".
export function localToIso(value) {
  if (!value) return null;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return null;
  const offset = -date.getTimezoneOffset();
  const pad = (n) => String(Math.trunc(n)).padStart(2, "0");
  const sign = offset >= 0 ? "+" : "-";
  const base = value.length === 16 ? `${value}:00` : value;
  return `${base}${sign}${pad(Math.abs(offset) / 60)}:${pad(Math.abs(offset) % 60)}`;
}

export function zoneLabel() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone ? `Your time zone: ${zone}.` : "In your browser's time zone.";
}

export function errorList(errors) {
  return h(
    "ul",
    { class: "field-errors" },
    errors.map((e) => h("li", {}, e.field ? [h("code", {}, e.field), ": "] : null, e.message)),
  );
}

// One labelled input with its hint and error line, both tied to it by aria-describedby.
export function field({ id, label, input, hint, required = false }) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  input.id = id;
  input.setAttribute("aria-describedby", hint ? `${hintId} ${errorId}` : errorId);
  if (required) input.setAttribute("aria-required", "true");
  const error = h("p", { id: errorId, class: "error field-error" });
  const node = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label, required ? h("span", { class: "required" }, " (required)") : null),
    hint ? h("p", { id: hintId, class: "muted small field-hint" }, hint) : null,
    input,
    error,
  );
  return { node, input, error };
}
