// A job's detail page, its markup: the head (title, status, reason, actions), the metrics and
// progress bar, the live (or last) view, and the report. Functions here build or repaint nodes
// from the job view; the page's code decides when.
import { ago, badge, duration, h, scheduleJobsUrl, STATUS_DESCRIPTIONS, STATUS_LABELS, TERMINAL, when } from "../ui.js";
import { ACTION_LOOK, elapsedMs, progressOf, ticking } from "./state.js";

function section(id, heading, ...content) {
  return h("section", { "aria-labelledby": id }, h("h2", { id }, heading), content);
}

export function detailPage(main, { artifacts, dialogs, activity, again }) {
  const view = {
    title: h("h1", { id: "job-title" }, "Job"),
    status: h("span", { id: "job-status" }),
    meaning: h("p", { class: "muted small", id: "job-status-meaning" }),
    reason: h("p", { class: "muted", id: "job-reason", hidden: true }),
    submitter: h("p", { class: "muted small", id: "job-submitter" }),
    jobId: h("code", { id: "job-id" }),
    runbook: h("p", { class: "muted small", id: "job-runbook", hidden: true }),
    facts: h("dl", { class: "facts", id: "job-facts", "aria-label": "About this job" }),
    actions: h("div", { class: "row actions", role: "group", "aria-label": "Job actions" }),
    readOnly: h("p", { class: "muted small", id: "job-read-only", hidden: true }),
    buttons: new Map(),
    metrics: h("dl", { class: "metrics", "aria-label": "Execution metrics" }),
    progress: h("progress", { id: "job-progress", class: "job-progress", max: "1", value: "0" }),
    shot: h("img", { id: "live-screenshot", alt: "Live view of the job's browser", hidden: true }),
    shotTitle: h("h2", { id: "live-title" }, "Live view"),
    shotNote: h("p", { class: "muted small", id: "live-note" }, "The live view appears while the job runs."),
    timeline: h("ol", { class: "timeline", id: "timeline" }),
    report: h("div", { id: "report" }, h("p", { class: "muted" }, "The report appears once the job has finished.")),
  };
  view.liveSection = h("section", { "aria-labelledby": "live-title", id: "live-section" }, view.shotTitle, view.shot, view.shotNote);
  main.replaceChildren(
    h("p", {}, h("a", { href: "/console/jobs" }, "← All jobs")),
    h("div", { class: "page-head" }, view.title, view.status),
    view.meaning,
    h("p", { class: "muted small job-id-line" }, "Job ", view.jobId, " ", copyButton(view.jobId)),
    view.submitter,
    view.runbook,
    view.reason,
    view.actions,
    view.readOnly,
    again.node,
    view.facts,
    view.metrics,
    view.progress,
    h(
      "div",
      { class: "detail-grid" },
      section("steps-title", "Steps", view.timeline),
      h(
        "div",
        {},
        view.liveSection,
        section("artifacts-title", "Artifacts", artifacts.list),
        section("report-title", "Report", view.report),
        section("activity-title", "Activity", activity.node),
      ),
    ),
    ...dialogs,
    artifacts.viewer,
  );
  return view;
}

// Copies the job id: people paste it into tickets, chats and the API.
function copyButton(source) {
  const button = h("button", { type: "button", class: "link-button small", "aria-label": "Copy the job id" }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.textContent);
      button.textContent = "Copied";
    } catch {
      getSelection()?.selectAllChildren(source);
      button.textContent = "Selected: copy it";
    }
    setTimeout(() => (button.textContent = "Copy"), 2000);
  });
  return button;
}

function trigger(job) {
  const schedule = job.labels?.["runwright.schedule"];
  if (job.trigger === "schedule" && schedule) return h("a", { href: scheduleJobsUrl(schedule) }, "a schedule");
  if (job.trigger === "batch" && job.batch_id) return h("a", { href: `/console/jobs?batch=${encodeURIComponent(job.batch_id)}` }, "a batch run");
  if (job.labels?.["runwright.rerun_of"]) return h("a", { href: `/console/jobs/${job.labels["runwright.rerun_of"]}` }, "a re-run");
  return job.trigger === "api" ? "the API or the console" : job.trigger;
}

// Created, started and finished (relative, exact on hover), what started it, its labels and the
// values it was given (sensitive ones masked).
function paintFacts(view, job) {
  const labels = Object.entries(job.labels || {}).filter(([k]) => !k.startsWith("runwright."));
  const values = Object.entries(job.variables || {});
  const rows = [
    ["Created", ago(job.created_at)],
    ["Started", ago(job.started_at)],
    ["Finished", ago(job.finished_at)],
    ["Trigger", trigger(job)],
    ["Labels", labels.length ? h("span", {}, ...labels.map(([k, v]) => h("span", { class: "chip" }, `${k}=${v}`))) : h("span", { class: "muted" }, "none")],
    ["Variables", values.length ? h("span", {}, ...values.map(([k, v]) => h("span", { class: "chip", dataset: { variable: k } }, `${k}=${v}`))) : h("span", { class: "muted" }, "none")],
  ];
  view.facts.replaceChildren(...rows.flatMap(([term, detail]) => [h("dt", {}, term), h("dd", {}, detail)]));
}

export function paintHead(view, job) {
  paintFacts(view, job);
  view.jobId.textContent = job.id;
  document.title = `${job.title} · Runwright`;
  view.title.textContent = job.title;
  view.status.replaceChildren(badge(job.status));
  view.meaning.textContent = STATUS_DESCRIPTIONS[job.status] || "";
  view.reason.hidden = !job.reason;
  view.reason.textContent = job.reason ? `Reason: ${job.reason}` : "";
  const by = (job.submitted_by || "").replace(/^user:/, "");
  view.submitter.replaceChildren(`Submitted by ${by} `, when(job.created_at));
  view.runbook.hidden = !job.runbook_slug;
  if (job.runbook_slug) {
    const version = job.runbook_version ? `, version ${job.runbook_version}` : "";
    view.runbook.replaceChildren("Runbook: ", h("a", { href: `/console/runbooks/${encodeURIComponent(job.runbook_slug)}` }, job.runbook_slug), version);
  }
}

// Exactly the actions the server says the job allows now (job.allowed_actions), in its order;
// one this page has no look for yet still gets a plain button named after it.
export function paintActions(view, allowed, onAction) {
  const shown = allowed || [];
  for (const action of shown) {
    if (view.buttons.has(action)) continue;
    const [label, style] = ACTION_LOOK[action] || [`${action[0].toUpperCase()}${action.slice(1)}`, "secondary"];
    view.buttons.set(action, h("button", { type: "button", class: style, dataset: { action }, onclick: () => onAction(action) }, label));
  }
  const current = [...view.actions.children].map((node) => node.dataset.action);
  if (current.join() !== shown.join()) view.actions.replaceChildren(...shown.map((action) => view.buttons.get(action)));
}

function elapsedMetric(job) {
  const label = ticking(job) ? "Elapsed" : "Total duration";
  const attrs = { id: "job-elapsed", dataset: { ticking: String(ticking(job)) } };
  return [label, h("span", attrs, duration(elapsedMs(job)))];
}

export function paintMetrics(view, job) {
  const m = job.metrics;
  const { done, total, failed, failedAt } = progressOf(job);
  view.metrics.replaceChildren(
    ...[elapsedMetric(job), ["Steps succeeded", m.steps_succeeded], ["Steps failed", m.steps_failed], ["Retry count", m.retry_count], ["Progress", `${done}/${total}`]].map(
      ([label, value]) => h("div", { class: "metric" }, h("dt", {}, label), h("dd", {}, value instanceof Node ? value : String(value))),
    ),
  );
  view.progress.max = Math.max(total, 1);
  view.progress.value = done;
  view.progress.classList.toggle("job-progress-failed", failed);
  const state = failedAt ? `; step ${failedAt} failed` : failed ? "; the job failed" : "";
  view.progress.setAttribute("aria-label", `Progress: ${done} of ${total} steps done${state}`);
}

// Once a second while the job is under way; nothing is fetched for it.
export function tickElapsed(view, job) {
  const node = view.metrics.querySelector("#job-elapsed");
  if (node && ticking(job)) node.textContent = duration(elapsedMs(job));
}

export function paintLiveFrame(view, data) {
  view.shot.src = `data:image/jpeg;base64,${data.jpeg}`;
  view.shot.hidden = false;
  view.shot.dataset.source = "frame";
  view.shotNote.textContent = `Frame ${data.frame}`;
}

// A finished job shows what its browser showed last: the last live frame if this page saw one,
// else the last screenshot it stored; with neither the section goes.
export function paintLastView(view, job, screenshot) {
  if (!TERMINAL.has(job.status)) return;
  view.shotTitle.textContent = "Last view";
  view.shot.alt = "The job's browser when it finished";
  if (view.shot.dataset.source === "frame") {
    view.shotNote.textContent = "The last frame before the job finished.";
  } else if (screenshot && view.shot.dataset.id !== screenshot.id) {
    view.shot.src = `${screenshot.url}?inline=1`;
    view.shot.hidden = false;
    view.shot.dataset.id = screenshot.id;
    const step = screenshot.ordinal === null ? "" : `step ${screenshot.ordinal + 1}, `;
    view.shotNote.textContent = `The last screenshot taken (${step}${screenshot.name}).`;
  }
  view.liveSection.hidden = view.shot.hidden;
}

export function paintReport(view, r, base, jobId) {
  const rows = [
    ["Status", STATUS_LABELS[r.status] || r.status],
    ["Steps", `${r.executed} run of ${r.totalSteps}: ${r.succeeded} succeeded, ${r.failed} failed, ${r.skipped} skipped`],
    ["Duration", duration(r.totalDurationMs)],
    ["Start URL", r.startUrl],
    r.reason ? ["Reason", r.reason] : null,
  ].filter(Boolean);
  view.report.replaceChildren(
    h("dl", { class: "values" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("p", {}, h("a", { href: `${base}/report.md`, download: `runwright-${jobId}.md`, class: "button secondary" }, "Download Markdown")),
  );
}
