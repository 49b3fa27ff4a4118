// The New job page: a runbook (pasted or uploaded) checked as you type, its variables as inputs,
// the job options, and a submit that lands on the new job's page.
import { api, ApiError } from "./api.js";
import { h, toast } from "./ui.js";

const VALIDATE_DELAY_MS = 300;
const MAX_FILE_BYTES = 2 * 1024 * 1024;

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

function zoneLabel() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone ? `Your time zone: ${zone}.` : "In your browser's time zone.";
}

function errorList(errors) {
  return h(
    "ul",
    { class: "field-errors" },
    errors.map((e) => h("li", {}, e.field ? [h("code", {}, e.field), ": "] : null, e.message)),
  );
}

// One labelled input with its hint and error line, both tied to it by aria-describedby.
function field({ id, label, input, hint, required = false }) {
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

export function renderNewJob(main, navigate) {
  document.title = "New job · Runwright";
  let timer = 0;
  let generation = 0;
  let stopped = false;
  let declared = [];
  let signature = "";
  const values = new Map(); // typed variable values survive re-rendering, by name
  const variableFields = new Map();

  const runbookStatus = h("p", { id: "nj-runbook-status", class: "muted small", "aria-live": "polite" });
  const runbookErrors = h("div", { id: "nj-runbook-errors", role: "alert" });
  const textarea = h("textarea", {
    id: "nj-runbook",
    name: "runbook",
    rows: "18",
    spellcheck: "false",
    autocapitalize: "off",
    autocomplete: "off",
    class: "code-input",
    "aria-describedby": "nj-runbook-status nj-runbook-errors",
  });
  const file = h("input", {
    id: "nj-file",
    type: "file",
    accept: ".yaml,.yml,application/yaml,application/x-yaml,text/yaml",
    "aria-describedby": "nj-file-hint",
  });
  const variablesBox = h("div", { id: "nj-variables", class: "form-grid" });
  const variablesNote = h("p", { class: "muted small" }, "Variables appear once the runbook is valid.");
  const others = h("p", { class: "muted small", hidden: true });

  const title = field({
    id: "nj-title",
    label: "Title (optional)",
    input: h("input", { type: "text", name: "title", maxlength: "300", autocomplete: "off" }),
    hint: "Shown in the jobs list; the runbook's title when empty.",
  });
  const priority = field({
    id: "nj-priority",
    label: "Priority (optional)",
    input: h("input", { type: "number", name: "priority", step: "1", inputmode: "numeric" }),
    hint: "Higher runs first; the runbook's own priority when empty.",
  });
  const runAt = field({
    id: "nj-run-at",
    label: "Run at (optional)",
    input: h("input", { type: "datetime-local", name: "run_at" }),
    hint: `Leave empty to run now. ${zoneLabel()}`,
  });
  const formErrors = h("div", { id: "nj-form-errors", role: "alert" });
  const submit = h("button", { type: "submit", class: "primary" }, "Submit job");

  const form = h(
    "form",
    { class: "new-job", novalidate: true, "aria-labelledby": "nj-heading" },
    h(
      "section",
      { class: "card form-section", "aria-labelledby": "nj-runbook-heading" },
      h("h2", { id: "nj-runbook-heading" }, "Runbook"),
      h("label", { for: "nj-runbook" }, "Runbook YAML"),
      textarea,
      runbookStatus,
      runbookErrors,
      h(
        "div",
        { class: "field" },
        h("label", { for: "nj-file" }, "Or upload a YAML file"),
        h("p", { id: "nj-file-hint", class: "muted small field-hint" }, "A .yaml or .yml file; its text fills the box above."),
        file,
      ),
    ),
    h(
      "fieldset",
      { class: "card form-section" },
      h("legend", {}, "Variables"),
      variablesNote,
      variablesBox,
      others,
    ),
    h(
      "fieldset",
      { class: "card form-section" },
      h("legend", {}, "Options"),
      h("div", { class: "form-grid" }, title.node, priority.node, runAt.node),
    ),
    formErrors,
    h("div", { class: "row" }, submit),
  );
  main.replaceChildren(h("div", { class: "page-head" }, h("h1", { id: "nj-heading" }, "New job")), form);

  function showRunbookErrors(errors) {
    runbookErrors.replaceChildren(errors.length ? errorList(errors) : "");
    textarea.setAttribute("aria-invalid", String(errors.length > 0));
  }

  function renderVariables(variables) {
    const next = JSON.stringify(variables.map((v) => [v.name, v.source, v.required, v.secret, v.description]));
    if (next === signature) return;
    signature = next;
    declared = variables;
    variableFields.clear();
    const asked = variables.filter((v) => v.source === "prompt");
    const rest = variables.filter((v) => v.source !== "prompt");
    variablesBox.replaceChildren(
      ...asked.map((v) => {
        const input = h("input", {
          type: v.secret ? "password" : "text",
          name: v.name,
          autocomplete: v.secret ? "new-password" : "off",
          dataset: { variable: v.name, secret: v.secret ? "true" : "false" },
        });
        input.value = values.get(v.name) || "";
        input.addEventListener("input", () => values.set(v.name, input.value));
        const described = v.description ? v.description.trim().replace(/([^.!?])$/, "$1.") : "";
        const secret = v.secret ? "Secret: sent as a run secret, masked everywhere." : "";
        const hint = [described, secret].filter(Boolean).join(" ");
        const made = field({ id: `nj-var-${v.name}`, label: v.name, input, hint, required: v.required });
        variableFields.set(v.name, made);
        return made.node;
      }),
    );
    variablesNote.textContent = asked.length
      ? ""
      : variables.length
        ? "This runbook asks for no values."
        : "This runbook declares no variables.";
    variablesNote.hidden = asked.length > 0;
    others.hidden = rest.length === 0;
    others.textContent = rest.length
      ? `Set without asking: ${rest.map((v) => `${v.name} (${v.source})`).join(", ")}.`
      : "";
  }

  function clearVariables(note) {
    signature = "";
    declared = [];
    variableFields.clear();
    variablesBox.replaceChildren();
    others.hidden = true;
    variablesNote.hidden = false;
    variablesNote.textContent = note;
  }

  async function validateNow() {
    clearTimeout(timer);
    const text = textarea.value;
    const mine = ++generation;
    if (!text.trim()) {
      runbookStatus.textContent = "Paste a runbook or upload a file.";
      showRunbookErrors([]);
      clearVariables("Variables appear once the runbook is valid.");
      return;
    }
    runbookStatus.textContent = "Checking…";
    try {
      const answer = await api("/api/v1/runbooks/validate", { method: "POST", body: { runbook: text } });
      if (stopped || mine !== generation) return;
      showRunbookErrors(answer.errors);
      const steps = `${answer.steps} step${answer.steps === 1 ? "" : "s"}`;
      if (answer.valid) {
        runbookStatus.textContent = `Valid: “${answer.title}”, ${steps}.`;
      } else {
        const n = answer.errors.length;
        runbookStatus.textContent = `Not valid yet: ${n} problem${n === 1 ? "" : "s"}.`;
      }
      if (answer.valid || answer.variables.length) renderVariables(answer.variables);
      else clearVariables("Variables appear once the runbook is valid.");
    } catch (error) {
      if (stopped || mine !== generation) return;
      runbookStatus.textContent = "";
      showRunbookErrors([{ field: "", message: `Could not check the runbook: ${error.message}` }]);
    }
  }

  function validateSoon() {
    clearTimeout(timer);
    timer = setTimeout(validateNow, VALIDATE_DELAY_MS);
  }

  textarea.addEventListener("input", validateSoon);

  file.addEventListener("change", async () => {
    const chosen = file.files && file.files[0];
    if (!chosen) return;
    if (!/\.ya?ml$/i.test(chosen.name)) {
      showRunbookErrors([{ field: "", message: `${chosen.name} is not a .yaml or .yml file.` }]);
      return;
    }
    if (chosen.size > MAX_FILE_BYTES) {
      showRunbookErrors([{ field: "", message: `${chosen.name} is larger than 2 MB.` }]);
      return;
    }
    textarea.value = await chosen.text();
    toast(`Loaded ${chosen.name}`);
    validateNow();
  });

  function clearSubmitErrors() {
    formErrors.replaceChildren();
    for (const item of [title, priority, runAt, ...variableFields.values()]) {
      item.error.textContent = "";
      item.input.removeAttribute("aria-invalid");
    }
  }

  // A 422's errors go next to the input they name; the rest above the submit button.
  function showSubmitErrors(errors) {
    const loose = [];
    const runbookProblems = [];
    let first = null;
    for (const e of errors) {
      const [root, ...rest] = String(e.field || "").split(".");
      const named =
        root === "variables" || root === "secrets"
          ? variableFields.get(rest.join("."))
          : { title, priority, run_at: runAt }[root];
      if (root === "runbook") {
        runbookProblems.push({ field: rest.join(".") || "runbook", message: e.message });
      } else if (named) {
        named.error.textContent = e.message;
        named.input.setAttribute("aria-invalid", "true");
        first = first || named.input;
      } else {
        loose.push(e);
      }
    }
    if (runbookProblems.length) {
      showRunbookErrors(runbookProblems);
      first = first || textarea;
    }
    if (loose.length) formErrors.replaceChildren(errorList(loose));
    if (first) first.focus();
  }

  function body() {
    const request = { runbook: textarea.value };
    const variables = {};
    const secrets = {};
    for (const v of declared) {
      const value = variableFields.has(v.name) ? variableFields.get(v.name).input.value : "";
      if (value === "") continue;
      (v.secret ? secrets : variables)[v.name] = value;
    }
    if (Object.keys(variables).length) request.variables = variables;
    if (Object.keys(secrets).length) request.secrets = secrets;
    if (title.input.value.trim()) request.title = title.input.value.trim();
    if (priority.input.value !== "") request.priority = Number(priority.input.value);
    const at = localToIso(runAt.input.value);
    if (at) request.run_at = at;
    return request;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearSubmitErrors();
    if (!textarea.value.trim()) {
      showRunbookErrors([{ field: "runbook", message: "Paste a runbook or upload a file first." }]);
      textarea.focus();
      return;
    }
    if (priority.input.validity.badInput) {
      priority.error.textContent = "Priority must be a whole number.";
      priority.input.setAttribute("aria-invalid", "true");
      priority.input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Submitting…";
    try {
      const job = await api("/api/v1/jobs", { method: "POST", body: body() });
      if (stopped) return;
      toast("Job submitted");
      navigate(`/console/jobs/${job.id}`);
    } catch (error) {
      if (stopped) return;
      if (error instanceof ApiError && error.status === 422) {
        showSubmitErrors(error.problem.errors || [{ field: "", message: error.message }]);
      } else if (error instanceof ApiError && error.status === 429) {
        const seconds = error.retryAfter || "a few";
        formErrors.replaceChildren(h("p", { class: "error" }, `Queue full, retry after ${seconds} s.`));
      } else if (!(error instanceof ApiError && error.status === 401)) {
        formErrors.replaceChildren(h("p", { class: "error" }, `Could not submit the job: ${error.message}`));
      }
    } finally {
      if (!stopped) {
        submit.disabled = false;
        submit.textContent = "Submit job";
      }
    }
  });

  validateNow();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
