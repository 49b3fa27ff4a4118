// The New job form's Variables section: one input per variable the runbook asks for (secrets as
// password inputs), a line naming those set without asking. Typed values survive re-rendering.
import { h } from "../ui.js";
import { field } from "./fields.js";

const WAITING = "Variables appear once the runbook is valid.";

export function variablesSection() {
  let declared = [];
  let signature = "";
  const values = new Map(); // typed values, by variable name
  const fields = new Map(); // name → { node, input, error }
  const box = h("div", { id: "nj-variables", class: "form-grid" });
  const note = h("p", { class: "muted small" }, WAITING);
  const others = h("p", { class: "muted small", hidden: true });
  const node = h("fieldset", { class: "card form-section" }, h("legend", {}, "Variables"), note, box, others);

  function input(v) {
    const made = h("input", {
      type: v.secret ? "password" : "text",
      name: v.name,
      autocomplete: v.secret ? "new-password" : "off",
      dataset: { variable: v.name, secret: v.secret ? "true" : "false" },
    });
    made.value = values.get(v.name) || "";
    made.addEventListener("input", () => values.set(v.name, made.value));
    return made;
  }

  function variableField(v) {
    const described = v.description ? v.description.trim().replace(/([^.!?])$/, "$1.") : "";
    const secret = v.secret ? "Secret: sent as a run secret, masked everywhere." : "";
    const hint = [described, secret].filter(Boolean).join(" ");
    const made = field({ id: `nj-var-${v.name}`, label: v.name, input: input(v), hint, required: v.required });
    fields.set(v.name, made);
    return made.node;
  }

  function render(variables) {
    const next = JSON.stringify(variables.map((v) => [v.name, v.source, v.required, v.secret, v.description]));
    if (next === signature) return;
    signature = next;
    declared = variables;
    fields.clear();
    const asked = variables.filter((v) => v.source === "prompt");
    const rest = variables.filter((v) => v.source !== "prompt");
    box.replaceChildren(...asked.map(variableField));
    note.textContent = asked.length ? "" : variables.length ? "This runbook asks for no values." : "This runbook declares no variables.";
    note.hidden = asked.length > 0;
    others.hidden = rest.length === 0;
    others.textContent = rest.length ? `Set without asking: ${rest.map((v) => `${v.name} (${v.source})`).join(", ")}.` : "";
  }

  function clear(text = WAITING) {
    signature = "";
    declared = [];
    fields.clear();
    box.replaceChildren();
    others.hidden = true;
    note.hidden = false;
    note.textContent = text;
  }

  // The typed values split into plain variables and secrets, empty ones left out.
  function collect() {
    const variables = {};
    const secrets = {};
    for (const v of declared) {
      const value = fields.has(v.name) ? fields.get(v.name).input.value : "";
      if (value !== "") (v.secret ? secrets : variables)[v.name] = value;
    }
    return { variables, secrets };
  }

  return { node, fields, render, clear, collect };
}
