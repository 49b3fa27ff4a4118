// The fix panel of a job held on a failed step: what failed (the error, the page as it is now),
// the step to edit, and the person's answer: retry it as it was, retry it edited (the browser
// and everything done before the failure are still there), skip it, or fail the job.
import { problemText } from "../people/common.js";
import { h } from "../ui.js";
import { diagnosticsBlock } from "./steps.js";

// `answer(action, step)` sends retry (step: the edited one, or null), skip or reject; it resolves
// to an ApiError when refused (shown here, the panel stays open) or null.
export function heldDialog(answer) {
  let pending = null;
  const title = h("h2", { id: "held-title" }, "A step failed");
  const body = h("div", {});
  const editor = h("textarea", { id: "held-step", rows: "10", spellcheck: "false", class: "code", "aria-describedby": "held-step-hint held-error" });
  const error = h("p", { id: "held-error", class: "error", role: "alert" });
  const buttons = [
    ["retry", "Retry as it was", "secondary"],
    ["edited", "Retry with my edit", "primary"],
    ["skip", "Skip this step", "secondary"],
    ["reject", "Fail the job", "danger"],
  ].map(([value, label, style]) => h("button", { type: "button", class: style, dataset: { choice: value } }, label));
  const dialog = h(
    "dialog",
    { id: "held-dialog", "aria-labelledby": "held-title" },
    title,
    body,
    h("label", { for: "held-step" }, "The step (JSON, as the runbook writes it)"),
    h("p", { id: "held-step-hint", class: "muted small" }, "Change the selector, the value or the wait, then Retry with my edit."),
    editor,
    error,
    h("div", { class: "row end" }, ...buttons),
  );

  async function choose(choice) {
    error.textContent = "";
    let step = null;
    if (choice === "edited") {
      try {
        step = JSON.parse(editor.value);
      } catch (e) {
        error.textContent = `Not valid JSON: ${e.message}`;
        editor.focus();
        return;
      }
    }
    for (const b of buttons) b.disabled = true;
    const refused = await answer(choice === "edited" ? "retry" : choice, step);
    for (const b of buttons) b.disabled = false;
    if (refused) {
      error.textContent = problemText(refused);
      return;
    }
    pending = null;
    dialog.close();
  }
  for (const button of buttons) button.addEventListener("click", () => choose(button.dataset.choice));
  dialog.addEventListener("close", () => {
    if (pending) pending.dismissed = true;
  });

  return {
    dialog,
    // An `approval` event of kind failure: requested (the job is held) or answered.
    request(data) {
      pending = data.state === "requested" ? data : null;
    },
    reopen() {
      if (pending) pending.dismissed = false;
    },
    sync(job) {
      const held = job && job.status === "waiting_for_approval" && pending;
      if (held && !dialog.open && !pending.dismissed) {
        title.textContent = `Step ${pending.ordinal + 1} failed: the job waits for you`;
        body.replaceChildren(
          h("p", { class: "held-error-text" }, pending.error ? pending.error.message : "The step failed."),
          pending.error?.hint ? h("p", { class: "error-hint" }, h("strong", {}, "Hint: "), pending.error.hint) : null,
          pending.error?.diagnostics ? diagnosticsBlock(pending.error.diagnostics) : null,
          pending.screenshot_artifact_id ? h("img", { class: "evidence", src: `/api/v1/artifacts/${pending.screenshot_artifact_id}?inline=1`, alt: "The page as it is now" }) : null,
          h("p", { class: "muted small" }, "The browser is kept as it is: a retry carries on from here."),
        );
        editor.value = pending.step ? JSON.stringify(pending.step, null, 2) : "";
        error.textContent = "";
        dialog.showModal();
        editor.focus();
      } else if (!held && dialog.open) {
        dialog.close();
      }
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}
