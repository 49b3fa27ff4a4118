// The job page's two dialogs: confirming a cancel (with an optional reason) and the approval a
// waiting step asks for (its description, risk, the page before it, the values so far).
import { h, valuesList } from "../ui.js";

export function cancelDialog(onConfirm) {
  const reason = h("textarea", { id: "cancel-reason", rows: "2", maxlength: "500" });
  const dialog = h(
    "dialog",
    { id: "cancel-dialog", "aria-labelledby": "cancel-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "cancel-title" }, "Cancel this job?"),
      h("p", {}, "The running step stops at once and the remaining steps are skipped."),
      h("label", { for: "cancel-reason" }, "Reason (optional)"),
      reason,
      h("div", { class: "row end" }, h("button", { value: "keep", class: "secondary" }, "Keep running"), h("button", { value: "confirm", class: "danger" }, "Cancel job")),
    ),
  );
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm") onConfirm(reason.value.trim());
  });
  return {
    dialog,
    ask() {
      reason.value = "";
      dialog.returnValue = "";
      dialog.showModal();
    },
  };
}

function approvalBody(a) {
  const captured = valuesList(a.captured);
  return h(
    "div",
    {},
    h("p", { class: "approval-step" }, h("strong", {}, `Step ${a.ordinal + 1}: `), a.description),
    h("p", {}, "Risk level: ", h("span", { class: `risk risk-${a.risk_level}` }, a.risk_level)),
    a.screenshot_artifact_id
      ? h("img", { class: "evidence", src: `/api/v1/artifacts/${a.screenshot_artifact_id}?inline=1`, alt: "The page before this step" })
      : null,
    captured ? [h("h3", { class: "small" }, "Values captured so far"), captured] : h("p", { class: "muted" }, "No values captured yet."),
    a.deadline ? h("p", { class: "muted small" }, `Decide before ${new Date(a.deadline).toLocaleTimeString()}.`) : null,
  );
}

// Opens by itself while the job waits on a requested approval; Escape dismisses it (the page's
// own Approve / Reject buttons stay), a choice closes it and acts.
export function approvalDialog(onChoice) {
  let pending = null;
  const body = h("div", {});
  const dialog = h(
    "dialog",
    { id: "approval-dialog", "aria-labelledby": "approval-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "approval-title" }, "Approval required"),
      body,
      h(
        "div",
        { class: "row end" },
        h("button", { value: "skip", class: "secondary" }, "Skip"),
        h("button", { value: "reject", class: "danger" }, "Reject"),
        h("button", { value: "approve", class: "primary" }, "Approve"),
      ),
    ),
  );
  dialog.addEventListener("close", () => {
    const choice = dialog.returnValue;
    dialog.returnValue = "";
    if (["approve", "reject", "skip"].includes(choice)) {
      pending = null;
      onChoice(choice);
    } else if (pending) {
      pending.dismissed = true;
    }
  });
  return {
    dialog,
    // An `approval` event: requested (shown when the job waits) or settled (gone).
    request(data) {
      pending = data.state === "requested" ? data : null;
    },
    sync(job) {
      const waiting = job && job.status === "waiting_for_approval" && pending;
      if (waiting && !dialog.open && !pending.dismissed) {
        body.replaceChildren(approvalBody(pending));
        dialog.returnValue = "";
        dialog.showModal();
      } else if (!waiting && dialog.open) {
        dialog.close();
      }
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}
