// The job page's two dialogs: confirming a cancel (with an optional reason) and the approval a
// waiting step asks for (its description, risk, the page before it, the values so far).
import { roleLabel } from "../roles.js";
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

function who(actor) {
  return actor.replace(/^user:/, "");
}

// Who may decide this approval, how many approvals it needs and, when the caller may not approve,
// why (GET /api/v1/jobs/{id}/approval): under four eyes the submitter reads that another person
// must approve.
export function approvalRules(view) {
  const policy = view.policy;
  const deciders = policy.users.length
    ? `Only ${policy.users.join(", ")}`
    : `${policy.roles.map((role) => roleLabel(role)).join(", ")} of this workspace`;
  const count =
    view.required > 1
      ? `${view.given} of ${view.required} approvals from different people${view.approved_by.length ? ` (so far: ${view.approved_by.map(who).join(", ")})` : ""}.`
      : "One approval decides.";
  return h(
    "div",
    { class: "approval-rules", id: "approval-rules" },
    h("p", {}, h("strong", {}, "Who may decide: "), `${deciders}.`),
    h("p", {}, count),
    policy.four_eyes ? h("p", {}, `Four eyes: ${who(view.submitted_by)} submitted this job and may not approve it.`) : null,
    view.can_decide ? null : h("p", { class: "notice-text", id: "approval-why-not", role: "status" }, view.message || "You may not approve this step."),
  );
}

// Opens by itself while the job waits on a requested approval; Escape dismisses it (the page's
// own Approve / Reject buttons stay), a choice closes it and acts. `rules()` answers the
// approval's policy for the caller; buttons the caller may not use are disabled and say why.
export function approvalDialog(onChoice, rules = async () => null) {
  let pending = null;
  const body = h("div", {});
  const rulesSlot = h("div", { "aria-live": "polite" });
  const dialog = h(
    "dialog",
    { id: "approval-dialog", "aria-labelledby": "approval-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "approval-title" }, "Approval required"),
      body,
      rulesSlot,
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
        rulesSlot.replaceChildren(h("p", { class: "muted small" }, "Checking who may decide…"));
        setButtons(dialog, null);
        dialog.returnValue = "";
        dialog.showModal();
        rules()
          .then((view) => {
            if (!view) return rulesSlot.replaceChildren();
            rulesSlot.replaceChildren(approvalRules(view));
            setButtons(dialog, view);
          })
          .catch(() => rulesSlot.replaceChildren());
      } else if (!waiting && dialog.open) {
        dialog.close();
      }
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}

// Until the policy is known every choice is offered (the gateway decides anyway); then Approve is
// disabled for a caller who may not approve, and Reject and Skip for one who may not decide.
function setButtons(dialog, view) {
  for (const button of dialog.querySelectorAll("button[value]")) {
    const allowed = !view || (button.value === "approve" ? view.can_decide : view.can_reject);
    button.disabled = !allowed;
    if (allowed) button.removeAttribute("aria-describedby");
    else button.setAttribute("aria-describedby", "approval-why-not");
  }
}
