// A job's detail page: metrics, step timeline, live screenshot, artifacts, report and actions,
// all kept current by the job's own event stream (/api/v1/jobs/{id}/events).
import { api } from "./api.js";
import { artifactList } from "./artifacts.js";
import { badge, duration, formatValue, h, STATUS_DESCRIPTIONS, STATUS_LABELS, TERMINAL, toast, valuesList } from "./ui.js";

// Which actions each status allows (as the API enforces them).
const ACTIONS = [
  ["approve", "Approve", ["waiting_for_approval"], "primary"],
  ["reject", "Reject", ["waiting_for_approval"], "danger"],
  ["pause", "Pause", ["running"], "secondary"],
  ["resume", "Resume", ["paused"], "secondary"],
  ["cancel", "Cancel", ["scheduled", "queued", "running", "paused", "waiting_for_approval"], "danger"],
];

export function renderJobDetail(main, jobId) {
  let job = null;
  let stopped = false;
  let refreshTimer = 0;
  let pendingApproval = null;
  let source = null;
  const aborter = new AbortController(); // stops preview downloads when the page is left
  const base = `/api/v1/jobs/${jobId}`;

  const title = h("h1", { id: "job-title" }, "Job");
  const statusSlot = h("span", { id: "job-status" });
  const meaning = h("p", { class: "muted small", id: "job-status-meaning" });
  const reason = h("p", { class: "muted", id: "job-reason", hidden: true });
  const actionButtons = ACTIONS.map(([action, label, , style]) =>
    h("button", { type: "button", class: style, dataset: { action }, hidden: true }, label),
  );
  const metrics = h("dl", { class: "metrics", "aria-label": "Execution metrics" });
  const shot = h("img", { id: "live-screenshot", alt: "Live view of the job's browser", hidden: true });
  const shotNote = h("p", { class: "muted small" }, "The live view appears while the job runs.");
  const timeline = h("ol", { class: "timeline", id: "timeline" });
  const artifacts = artifactList(aborter.signal);
  const report = h("div", { id: "report" }, h("p", { class: "muted" }, "The report appears once the job has finished."));

  const cancelReason = h("textarea", { id: "cancel-reason", rows: "2", maxlength: "500" });
  const cancelDialog = h(
    "dialog",
    { id: "cancel-dialog", "aria-labelledby": "cancel-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "cancel-title" }, "Cancel this job?"),
      h("p", {}, "The running step stops at once and the remaining steps are skipped."),
      h("label", { for: "cancel-reason" }, "Reason (optional)"),
      cancelReason,
      h(
        "div",
        { class: "row end" },
        h("button", { value: "keep", class: "secondary" }, "Keep running"),
        h("button", { value: "confirm", class: "danger" }, "Cancel job"),
      ),
    ),
  );
  const approvalBody = h("div", {});
  const approvalDialog = h(
    "dialog",
    { id: "approval-dialog", "aria-labelledby": "approval-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "approval-title" }, "Approval required"),
      approvalBody,
      h(
        "div",
        { class: "row end" },
        h("button", { value: "skip", class: "secondary" }, "Skip"),
        h("button", { value: "reject", class: "danger" }, "Reject"),
        h("button", { value: "approve", class: "primary" }, "Approve"),
      ),
    ),
  );

  main.replaceChildren(
    h("p", {}, h("a", { href: "/console/jobs" }, "← All jobs")),
    h("div", { class: "page-head" }, title, statusSlot),
    meaning,
    reason,
    h("div", { class: "row actions", role: "group", "aria-label": "Job actions" }, actionButtons),
    metrics,
    h(
      "div",
      { class: "detail-grid" },
      h("section", { "aria-labelledby": "steps-title" }, h("h2", { id: "steps-title" }, "Steps"), timeline),
      h(
        "div",
        {},
        h("section", { "aria-labelledby": "live-title" }, h("h2", { id: "live-title" }, "Live view"), shot, shotNote),
        h("section", { "aria-labelledby": "artifacts-title" }, h("h2", { id: "artifacts-title" }, "Artifacts"), artifacts.list),
        h("section", { "aria-labelledby": "report-title" }, h("h2", { id: "report-title" }, "Report"), report),
      ),
    ),
    cancelDialog,
    approvalDialog,
    artifacts.viewer,
  );

  async function act(action, reasonText) {
    try {
      job = await api(`${base}/${action}`, { method: "POST", body: reasonText ? { reason: reasonText } : undefined });
      render();
      toast(`${action[0].toUpperCase()}${action.slice(1)}: the job is now ${STATUS_LABELS[job.status] || job.status}.`);
    } catch (error) {
      if (error.status === 409) toast(`Not possible now: the job is ${STATUS_LABELS[error.problem.job_status] || error.problem.job_status}.`);
      else if (error.status !== 401) toast(`${action} failed: ${error.message}`);
      scheduleRefresh(0);
    }
  }

  for (const button of actionButtons) {
    button.addEventListener("click", () => {
      const action = button.dataset.action;
      if (action === "cancel") {
        cancelReason.value = "";
        cancelDialog.returnValue = "";
        cancelDialog.showModal();
      } else {
        act(action);
      }
    });
  }
  cancelDialog.addEventListener("close", () => {
    if (cancelDialog.returnValue === "confirm") act("cancel", cancelReason.value.trim());
  });
  approvalDialog.addEventListener("close", () => {
    const choice = approvalDialog.returnValue;
    approvalDialog.returnValue = "";
    if (["approve", "reject", "skip"].includes(choice)) {
      pendingApproval = null;
      act(choice);
    } else if (pendingApproval) {
      pendingApproval.dismissed = true; // Escape: the toolbar's Approve / Reject stay available
    }
  });

  function render() {
    if (!job) return;
    document.title = `${job.title} · Runwright`;
    title.textContent = job.title;
    statusSlot.replaceChildren(badge(job.status));
    meaning.textContent = STATUS_DESCRIPTIONS[job.status] || "";
    reason.hidden = !job.reason;
    reason.textContent = job.reason ? `Reason: ${job.reason}` : "";
    for (const [index, [, , allowed]] of ACTIONS.entries()) {
      const enabled = allowed.includes(job.status);
      actionButtons[index].hidden = !enabled;
      actionButtons[index].disabled = !enabled;
    }
    const m = job.metrics;
    metrics.replaceChildren(
      ...[
        ["Total duration", duration(m.total_duration_ms)],
        ["Steps succeeded", m.steps_succeeded],
        ["Steps failed", m.steps_failed],
        ["Retry count", m.retry_count],
        ["Progress", `${job.steps_done}/${job.steps_total}`],
      ].map(([label, value]) => h("div", { class: "metric" }, h("dt", {}, label), h("dd", {}, String(value)))),
    );
    timeline.replaceChildren(...job.steps.map(stepItem));
    placeFailureShots();
    if (TERMINAL.has(job.status)) {
      shotNote.textContent = shot.hidden ? "The job has finished." : "The last frame before the job finished.";
    }
    syncApprovalDialog();
  }

  function stepItem(step) {
    const facts = [
      h("span", { class: "tag" }, step.action_type),
      h("span", {}, duration(step.duration_ms)),
      step.retries ? h("span", {}, `${step.retries} ${step.retries === 1 ? "retry" : "retries"}`) : null,
    ];
    const captured = valuesList(step.captured);
    return h(
      "li",
      { class: `step step-${step.status}`, dataset: { ordinal: String(step.ordinal), status: step.status } },
      h("div", { class: "step-head" }, badge(step.status), h("span", { class: "step-title" }, `${step.ordinal + 1}. ${step.description}`)),
      h("div", { class: "step-facts muted small" }, facts),
      captured ? h("div", { class: "captured" }, h("h3", { class: "small" }, "Captured values"), captured) : null,
      step.error ? errorBlock(step.error, step.ordinal) : null,
    );
  }

  // A failed step's screenshot sits in its error block once the artifact is stored.
  function placeFailureShots() {
    for (const slot of timeline.querySelectorAll(".failure-shot:empty")) {
      const a = artifacts.find(Number(slot.dataset.ordinal), slot.dataset.name);
      if (!a) continue;
      slot.append(
        h(
          "a",
          { href: `${a.url}?inline=1`, target: "_blank", rel: "noopener" },
          h("img", { src: `${a.url}?inline=1`, alt: `The page when step ${Number(slot.dataset.ordinal) + 1} failed`, class: "evidence" }),
        ),
      );
    }
  }

  function errorBlock(error, ordinal) {
    const diagnostics = error.diagnostics || {};
    const rows = [];
    if (diagnostics.url) rows.push(["Page URL", diagnostics.url]);
    if (diagnostics.title) rows.push(["Page title", diagnostics.title]);
    const tried = (diagnostics.selectors_tried || []).map((t) =>
      h("li", {}, `${t.strategy}: ${formatValue(t.query)} → ${t.matches} match${t.matches === 1 ? "" : "es"}${t.visible === false ? " (not visible)" : ""}`),
    );
    const consoleErrors = (diagnostics.console_errors || []).map((line) => h("li", {}, line));
    return h(
      "div",
      { class: "step-error", role: "group", "aria-label": "Error" },
      h("p", {}, h("strong", { class: "error-kind" }, error.kind), " — ", h("span", { class: "error-message" }, error.message)),
      error.hint ? h("p", { class: "error-hint" }, h("strong", {}, "Hint: "), error.hint) : null,
      diagnostics.screenshot ? h("figure", { class: "failure-shot", dataset: { ordinal: String(ordinal), name: diagnostics.screenshot } }) : null,
      h(
        "details",
        {},
        h("summary", {}, "Diagnostics"),
        rows.length ? h("dl", { class: "values" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])) : null,
        tried.length ? [h("h3", { class: "small" }, "Selector strategies tried"), h("ul", {}, tried)] : null,
        consoleErrors.length ? [h("h3", { class: "small" }, "Browser console errors"), h("ul", {}, consoleErrors)] : null,
        diagnostics.dom_excerpt ? [h("h3", { class: "small" }, "Page excerpt"), h("pre", {}, diagnostics.dom_excerpt)] : null,
      ),
    );
  }

  function syncApprovalDialog() {
    const waiting = job && job.status === "waiting_for_approval" && pendingApproval;
    if (waiting && !approvalDialog.open && !pendingApproval.dismissed) {
      const a = pendingApproval;
      const captured = valuesList(a.captured);
      approvalBody.replaceChildren(
        h(
          "div",
          {},
          h("p", { class: "approval-step" }, h("strong", {}, `Step ${a.ordinal + 1}: `), a.description),
        h("p", {}, "Risk level: ", h("span", { class: `risk risk-${a.risk_level}` }, a.risk_level)),
        a.screenshot_artifact_id
          ? h("img", { class: "evidence", src: `/api/v1/artifacts/${a.screenshot_artifact_id}?inline=1`, alt: "The page before this step" })
          : null,
        captured ? [h("h3", { class: "small" }, "Values captured so far"), captured] : h("p", { class: "muted" }, "No values captured yet."),
        a.deadline ? h("p", { class: "muted small" }, `Decide before ${new Date(a.deadline).toLocaleTimeString()}.`) : null,
        ),
      );
      approvalDialog.returnValue = "";
      approvalDialog.showModal();
    } else if (!waiting && approvalDialog.open) {
      approvalDialog.close();
    }
  }

  async function refresh() {
    try {
      const next = await api(base);
      if (stopped) return;
      job = next;
      render();
      if (TERMINAL.has(job.status)) loadReport();
    } catch (error) {
      if (error.status === 404) main.replaceChildren(h("h1", {}, "Job not found"), h("p", {}, h("a", { href: "/console/jobs" }, "All jobs")));
    }
  }

  // Several events often arrive together (a replay, a step ending and the next starting):
  // one re-read covers them all.
  function scheduleRefresh(delay = 100) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, delay);
  }

  // The full list (on load and once the job has ended); `artifact` events add single items in
  // between. Items already shown are kept as they are (a playing video, an open preview).
  async function loadArtifacts() {
    try {
      const { items } = await api(`${base}/artifacts`);
      if (stopped) return;
      artifacts.add(items);
      placeFailureShots();
    } catch {
      /* shown as before; a later event tries again */
    }
  }

  let reportLoaded = false;
  async function loadReport() {
    if (reportLoaded) return;
    try {
      const r = await api(`${base}/report`);
      if (stopped) return;
      reportLoaded = true;
      report.replaceChildren(
        h(
          "dl",
          { class: "values" },
          [
            ["Status", STATUS_LABELS[r.status] || r.status],
            ["Steps", `${r.executed} run of ${r.totalSteps}: ${r.succeeded} succeeded, ${r.failed} failed, ${r.skipped} skipped`],
            ["Duration", duration(r.totalDurationMs)],
            ["Start URL", r.startUrl],
            r.reason ? ["Reason", r.reason] : null,
          ]
            .filter(Boolean)
            .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]),
        ),
        h("p", {}, h("a", { href: `${base}/report.md`, download: `runwright-${jobId}.md`, class: "button secondary" }, "Download Markdown")),
      );
    } catch {
      /* not finished yet */
    }
  }

  function connect() {
    // EventSource sends the session cookie and resumes with Last-Event-ID by itself.
    source = new EventSource(`${base}/events?live=1`);
    source.addEventListener("status", (event) => {
      const data = JSON.parse(event.data);
      scheduleRefresh();
      if (TERMINAL.has(data.status)) {
        source.close();
        scheduleRefresh(0);
        loadArtifacts();
        loadReport();
      }
    });
    source.addEventListener("step", () => scheduleRefresh());
    source.addEventListener("artifact", (event) => {
      artifacts.add([JSON.parse(event.data)]);
      placeFailureShots();
    });
    source.addEventListener("report", () => loadReport());
    source.addEventListener("approval", (event) => {
      const data = JSON.parse(event.data);
      pendingApproval = data.state === "requested" ? data : null;
      scheduleRefresh();
    });
    source.addEventListener("screenshot", (event) => {
      const data = JSON.parse(event.data);
      shot.src = `data:image/jpeg;base64,${data.jpeg}`;
      shot.hidden = false;
      shotNote.textContent = `Frame ${data.frame}`;
    });
  }

  refresh().then(() => {
    if (stopped || !job) return;
    loadArtifacts();
    if (!TERMINAL.has(job.status)) connect();
    else loadReport();
  });

  return () => {
    stopped = true;
    aborter.abort();
    artifacts.close();
    clearTimeout(refreshTimer);
    if (source) source.close();
    if (approvalDialog.open) approvalDialog.close();
  };
}
