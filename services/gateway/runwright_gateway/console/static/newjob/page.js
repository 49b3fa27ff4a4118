// The New job page: a runbook (pasted or uploaded) checked as you type, its variables as inputs,
// the job options, and a submit that lands on the new job's page.
import { api, ApiError } from "../api.js";
import { can, me, roleLabel } from "../roles.js";
import { h, toast } from "../ui.js";
import { errorList, field, localToIso, zoneLabel } from "./fields.js";
import { variablesSection } from "./variables.js";

const VALIDATE_DELAY_MS = 300;
const MAX_FILE_BYTES = 2 * 1024 * 1024;

export function renderNewJob(main, navigate) {
  document.title = "New job · Runwright";
  if (!can("job.submit")) {
    main.replaceChildren(
      h("h1", { id: "nj-heading" }, "New job"),
      h("p", { class: "card muted" }, `Your role here (${roleLabel(me()?.role)}) may look at jobs but not submit them; Members and above do.`),
    );
    return () => {};
  }
  let timer = 0;
  let generation = 0;
  let stopped = false;
  const vars = variablesSection();
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
    vars.node,
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

  async function validateNow() {
    clearTimeout(timer);
    const text = textarea.value;
    const mine = ++generation;
    if (!text.trim()) {
      runbookStatus.textContent = "Paste a runbook or upload a file.";
      showRunbookErrors([]);
      vars.clear();
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
      if (answer.valid || answer.variables.length) vars.render(answer.variables);
      else vars.clear();
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
    for (const item of [title, priority, runAt, ...vars.fields.values()]) {
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
          ? vars.fields.get(rest.join("."))
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
    const { variables, secrets } = vars.collect();
    if (Object.keys(variables).length) request.variables = variables;
    if (Object.keys(secrets).length) request.secrets = secrets;
    if (title.input.value.trim()) request.title = title.input.value.trim();
    if (priority.input.value !== "") request.priority = Number(priority.input.value);
    const at = localToIso(runAt.input.value);
    if (at) request.run_at = at;
    return request;
  }

  // Checks the browser can make before asking the server; false when one failed (and says so).
  function readyToSubmit() {
    if (!textarea.value.trim()) {
      showRunbookErrors([{ field: "runbook", message: "Paste a runbook or upload a file first." }]);
      textarea.focus();
      return false;
    }
    if (priority.input.validity.badInput) {
      priority.error.textContent = "Priority must be a whole number.";
      priority.input.setAttribute("aria-invalid", "true");
      priority.input.focus();
      return false;
    }
    return true;
  }

  function showSubmitFailure(error) {
    const status = error instanceof ApiError ? error.status : 0;
    if (status === 422) {
      showSubmitErrors(error.problem.errors || [{ field: "", message: error.message }]);
    } else if (status === 429) {
      const seconds = error.retryAfter || "a few";
      formErrors.replaceChildren(h("p", { class: "error" }, `Queue full, retry after ${seconds} s.`));
    } else if (status !== 401) {
      formErrors.replaceChildren(h("p", { class: "error" }, `Could not submit the job: ${error.message}`));
    }
  }

  function busy(yes) {
    submit.disabled = yes;
    submit.textContent = yes ? "Submitting…" : "Submit job";
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearSubmitErrors();
    if (!readyToSubmit()) return;
    busy(true);
    try {
      const job = await api("/api/v1/jobs", { method: "POST", body: body() });
      if (stopped) return;
      toast("Job submitted");
      navigate(`/console/jobs/${job.id}`);
    } catch (error) {
      if (!stopped) showSubmitFailure(error);
    } finally {
      if (!stopped) busy(false);
    }
  });

  validateNow();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
