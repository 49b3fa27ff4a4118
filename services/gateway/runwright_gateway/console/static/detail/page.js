// A job's detail page: metrics, step timeline, live screenshot, artifacts, report and actions,
// all kept current by the job's own event stream.
import { api } from "../api.js";
import { can, me, roleLabel } from "../roles.js";
import { artifactList } from "../artifacts/list.js";
import { dismissToast, h, STATUS_LABELS, TERMINAL, toast } from "../ui.js";
import { activityLog } from "./activity.js";
import { againTools } from "./again.js";
import { approvalDialog, cancelDialog } from "./dialogs.js";
import { heldDialog } from "./held.js";
import { detailPage, paintActions, paintHead, paintLastView, paintLiveFrame, paintMetrics, paintReport, tickElapsed } from "./render.js";
import { ACTION_LOOK, lastScreenshot } from "./state.js";
import { placeFailureShots, stepItem } from "./steps.js";
import { jobStream } from "./stream.js";

const statusLabel = (status) => STATUS_LABELS[status] || status;

export function renderJobDetail(main, jobId, navigate) {
  const base = `/api/v1/jobs/${jobId}`;
  const aborter = new AbortController(); // stops preview downloads when the page is left
  const artifacts = artifactList(aborter.signal);
  let job = null;
  let stopped = false;
  let refreshTimer = 0;
  let reportLoaded = false;
  let stream = null;
  let actionToast = 0; // the toast saying what an action did, until the job moves on
  const cancel = cancelDialog((reason) => act("cancel", reason));
  const held = heldDialog(async (action, step) => {
    try {
      const next = await api(`${base}/${action}`, { method: "POST", body: step ? { step } : {} });
      if (stopped) return null;
      if (action === "retry" && step && job?.runbook_slug) again.offerFix({ ordinal: heldOrdinal, step, slug: job.runbook_slug, version: job.runbook_version });
      show(next);
      actionToast = toast(action === "retry" ? "Retrying the step in the same browser." : `${ACTION_LOOK[action]?.[0] || action}: the job is now ${statusLabel(job.status)}.`);
      return null;
    } catch (error) {
      if (error.status === 409) scheduleRefresh(0);
      return error;
    }
  });
  let heldOrdinal = null;
  const approval = approvalDialog(
    (choice) => act(choice),
    () => api(`${base}/approval`),
  );
  const activity = activityLog();
  const again = againTools(base, navigate);
  const view = detailPage(main, { artifacts, dialogs: [cancel.dialog, approval.dialog, held.dialog], activity, again });

  function onAction(action) {
    if (action === "cancel") cancel.ask();
    else if (action === "retry") {
      held.reopen(); // the fix panel: retry as it was, or edited
      held.sync(job);
    } else act(action);
  }

  async function act(action, reason) {
    dismissToast(actionToast);
    try {
      const next = await api(`${base}/${action}`, { method: "POST", body: reason ? { reason } : undefined });
      if (stopped) return;
      show(next);
      const count = next.approvals;
      if (count && count.given < count.required) {
        // A 202: counted, and the job still waits for other people's approvals.
        actionToast = toast(`Approval counted: ${count.given} of ${count.required}; the job waits for ${count.required - count.given} more from other people.`);
      } else actionToast = toast(`${ACTION_LOOK[action]?.[0] || action}: the job is now ${statusLabel(job.status)}.`);
    } catch (error) {
      if (stopped) return;
      if (error.status === 409) actionToast = toast(`Not possible now: the job is ${statusLabel(error.problem.job_status)}.`);
      else if (error.status !== 401) actionToast = toast(`${action} failed: ${error.message}`);
      scheduleRefresh(0);
    }
  }

  // A newer view of the job. An action's toast speaks of the status it led to: once the job has
  // moved on from that status the toast goes, so it never claims a state the job has left.
  function show(next) {
    if (job && next.version < job.version) return; // an older answer overtaken by a newer one
    if (job && next.status !== job.status) dismissToast(actionToast);
    job = next;
    render();
  }

  function render() {
    paintHead(view, job);
    again.sync(job);
    // A role that may not act on jobs (Viewer) is offered no actions and no approval dialog.
    const acting = can("job.act");
    paintActions(view, acting ? job.allowed_actions : [], onAction);
    view.readOnly.hidden = acting || !(job.allowed_actions || []).length;
    view.readOnly.textContent = `Your role (${roleLabel(me()?.role)}) watches jobs; Members and above act on them.`;
    paintMetrics(view, job);
    view.timeline.replaceChildren(...job.steps.map(stepItem));
    placeFailureShots(view.timeline, artifacts.find);
    paintLastView(view, job, lastScreenshot(artifacts.all()));
    if (acting) {
      approval.sync(job);
      held.sync(job);
    }
  }

  async function refresh() {
    try {
      const next = await api(base);
      if (stopped) return;
      show(next);
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
  // `final`: the job has ended (its stream said so), so the list is complete.
  async function loadArtifacts(final = false) {
    try {
      const { items } = await api(`${base}/artifacts`);
      if (stopped) return;
      artifacts.add(items);
      if (final || TERMINAL.has(job.status)) artifacts.finish();
      placeFailureShots(view.timeline, artifacts.find);
      paintLastView(view, job, lastScreenshot(artifacts.all()));
    } catch {
      /* shown as before; a later event tries again */
    }
  }

  async function loadReport() {
    if (reportLoaded) return;
    try {
      const report = await api(`${base}/report`);
      if (stopped) return;
      reportLoaded = true;
      paintReport(view, report, base, jobId);
    } catch {
      /* not finished yet */
    }
  }

  function connect() {
    stream = jobStream(base, {
      status: (data) => {
        activity.add("status", data);
        scheduleRefresh();
      },
      ended: () => {
        scheduleRefresh(0);
        loadArtifacts(true);
        loadReport();
      },
      step: () => scheduleRefresh(),
      artifact: (data) => {
        artifacts.add([data]);
        placeFailureShots(view.timeline, artifacts.find);
      },
      report: () => loadReport(),
      approval: (data) => {
        activity.add("approval", data);
        if (data.kind === "failure") {
          held.request(data);
          if (data.state === "requested") heldOrdinal = data.ordinal;
          scheduleRefresh();
          return;
        }
        approval.request(data);
        scheduleRefresh();
      },
      frame: (data) => paintLiveFrame(view, data),
    });
  }

  const ticker = setInterval(() => tickElapsed(view, job), 1000);
  refresh().then(() => {
    if (stopped || !job) return;
    // A finished job's stream replays its events (for the activity log) and ends.
    connect();
    if (TERMINAL.has(job.status)) loadReport();
    loadArtifacts();
  });

  return () => {
    stopped = true;
    aborter.abort();
    artifacts.close();
    clearTimeout(refreshTimer);
    clearInterval(ticker);
    dismissToast(actionToast);
    if (stream) stream.close();
    approval.close();
    held.close();
  };
}
