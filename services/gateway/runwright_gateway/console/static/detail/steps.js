// The step timeline on a job's page: each step (1-based "Step N" for people) with its status,
// duration, retries, captured values and, for a failed step, its error said once, the attempts
// it made, the page at the failure and the diagnostics.
import { badge, duration, formatValue, h, valuesList } from "../ui.js";
import { attemptsOf, countedOnce, messageLines } from "./state.js";

export function stepItem(step) {
  const facts = [
    h("span", { class: "tag" }, step.action_type),
    h("span", {}, duration(step.duration_ms)),
    step.retries ? h("span", {}, `${step.retries} ${step.retries === 1 ? "retry" : "retries"}`) : null,
  ];
  const captured = valuesList(step.captured);
  return h(
    "li",
    { class: `step step-${step.status}`, dataset: { ordinal: String(step.ordinal), status: step.status } },
    h("div", { class: "step-head" }, badge(step.status), h("span", { class: "step-title" }, `Step ${step.ordinal + 1}: ${step.description}`)),
    h("div", { class: "step-facts muted small" }, facts),
    captured ? h("div", { class: "captured" }, h("h3", { class: "small" }, "Captured values"), captured) : null,
    step.error ? errorBlock(step.error, step.ordinal) : null,
  );
}

function errorMessage(error, attempts) {
  const { lines, repeats } = messageLines(error.message);
  const said = h("span", { class: "error-message" }, lines.length > 1 ? lines.map((line) => h("span", { class: "error-line" }, line)) : lines[0] || "");
  const times = !attempts.length && repeats > 1 ? h("span", { class: "muted small error-repeats" }, ` (the same on ${repeats} attempts)`) : null;
  return h("p", {}, h("strong", { class: "error-kind" }, error.kind), " — ", said, times);
}

// One line per attempt, as the engine records it ({number, tried, result}): "Attempt 2: id='x'→0
// — nothing matched". Other facts it adds follow in brackets.
function attemptText(attempt, index) {
  const { number, attempt: also, tried, result, message, error, ...rest } = attempt;
  const facts = Object.entries(rest)
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([key, value]) => `${key.replace(/_ms$/, "").replaceAll("_", " ")}: ${key.endsWith("_ms") ? duration(value) : formatValue(value)}`);
  const what = [tried, result || message || error].filter((part) => part !== undefined && part !== null && part !== "").map(formatValue);
  return [`Attempt ${number ?? also ?? index + 1}`, what.length ? `: ${what.join(" — ")}` : "", facts.length ? ` (${facts.join(", ")})` : ""].join("");
}

function attemptsList(attempts) {
  if (!attempts.length) return null;
  return h(
    "div",
    { class: "attempts" },
    h("h3", { class: "small", id: null }, `Attempts (${attempts.length})`),
    h("ol", { class: "attempt-list", "aria-label": "Attempts" }, attempts.map((a, i) => h("li", {}, attemptText(a, i)))),
  );
}

function triedText(t) {
  return `${t.strategy}: ${formatValue(t.query)} → ${t.matches} match${t.matches === 1 ? "" : "es"}${t.visible === false ? " (not visible)" : ""}`;
}

export function diagnosticsBlock(diagnostics) {
  const rows = [];
  if (diagnostics.url) rows.push(["Page URL", diagnostics.url]);
  if (diagnostics.title) rows.push(["Page title", diagnostics.title]);
  const tried = countedOnce(diagnostics.selectors_tried || [], triedText).map(({ entry, times }) =>
    h("li", {}, `${triedText(entry)}${times > 1 ? ` (each of ${times} attempts)` : ""}`),
  );
  const consoleErrors = (diagnostics.console_errors || []).map((line) => h("li", {}, line));
  return h(
    "details",
    {},
    h("summary", {}, "Diagnostics"),
    rows.length ? h("dl", { class: "values" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : null,
    tried.length ? [h("h3", { class: "small" }, "Selector strategies tried"), h("ul", {}, tried)] : null,
    consoleErrors.length ? [h("h3", { class: "small" }, "Browser console errors"), h("ul", {}, consoleErrors)] : null,
    diagnostics.dom_excerpt ? [h("h3", { class: "small" }, "Page excerpt"), h("pre", {}, diagnostics.dom_excerpt)] : null,
  );
}

function errorBlock(error, ordinal) {
  const diagnostics = error.diagnostics || {};
  const attempts = attemptsOf(error);
  return h(
    "div",
    { class: "step-error", role: "group", "aria-label": `Step ${ordinal + 1} error` },
    errorMessage(error, attempts),
    error.hint ? h("p", { class: "error-hint" }, h("strong", {}, "Hint: "), error.hint) : null,
    attemptsList(attempts),
    diagnostics.screenshot ? h("figure", { class: "failure-shot", dataset: { ordinal: String(ordinal), name: diagnostics.screenshot } }) : null,
    diagnosticsBlock(diagnostics),
  );
}

// A failed step's screenshot sits in its error block once the artifact is stored.
export function placeFailureShots(timeline, find) {
  for (const slot of timeline.querySelectorAll(".failure-shot:empty")) {
    const a = find(Number(slot.dataset.ordinal), slot.dataset.name);
    if (!a) continue;
    const alt = `The page when step ${Number(slot.dataset.ordinal) + 1} failed`;
    slot.append(h("a", { href: `${a.url}?inline=1`, target: "_blank", rel: "noopener" }, h("img", { src: `${a.url}?inline=1`, alt, class: "evidence" })));
  }
}
