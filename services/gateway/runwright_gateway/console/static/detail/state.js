// A job's detail page, the facts it derives from the job view: how far the job got, how long it
// has run, what a failed step's error says once, which screenshot was the last one taken.
// Nothing here touches the page.
import { TERMINAL } from "../ui.js";

// How each action is shown: its label and button style. Which actions a job allows is the
// server's to say (job.allowed_actions); the page keeps no table of its own.
export const ACTION_LOOK = {
  approve: ["Approve", "primary"],
  reject: ["Reject", "danger"],
  skip: ["Skip", "secondary"],
  retry: ["Retry", "primary"],
  pause: ["Pause", "secondary"],
  resume: ["Resume", "secondary"],
  cancel: ["Cancel", "danger"],
};

const TICKING = new Set(["running", "paused", "waiting_for_approval"]);

export function ticking(job) {
  return Boolean(job && TICKING.has(job.status) && job.started_at);
}

// Time since the job started while it is under way, its total duration once it has ended.
export function elapsedMs(job, now = Date.now()) {
  if (TERMINAL.has(job.status)) return job.metrics?.total_duration_ms ?? job.duration_ms ?? null;
  if (!job.started_at) return null;
  return Math.max(0, now - new Date(job.started_at).getTime());
}

// Steps done, as a person counts them: those that succeeded, and those skipped that the job went
// on past (a person chose Skip at an approval). A failed step, and the steps left over when the
// job stopped, are not done: a job that failed at step 2 of 5 is not shown as finished.
export function progressOf(job) {
  const steps = job.steps || [];
  const lastRun = steps.reduce((last, s) => (s.status === "success" || s.status === "failed" || s.status === "running" ? s.ordinal : last), -1);
  const done = steps.filter((s) => s.status === "success" || (s.status === "skipped" && (s.ordinal < lastRun || job.status === "completed"))).length;
  const failedStep = steps.find((s) => s.status === "failed");
  return {
    done,
    total: job.steps_total || steps.length,
    failed: job.status === "failed" || Boolean(failedStep),
    failedAt: failedStep ? failedStep.ordinal + 1 : null, // "step N" as people read it
  };
}

// The attempts a failed step made, when the engine lists them (one dict per attempt).
export function attemptsOf(error) {
  const attempts = error?.diagnostics?.attempts;
  return Array.isArray(attempts) ? attempts.filter((a) => a && typeof a === "object") : [];
}

// An error message with repeats said once: repeated lines, and repeated items in a bracketed
// list (an engine that retried wrote "(id='x'→0, id='x'→0, id='x'→0)", one item per attempt).
// `repeats`: how often the most repeated part came up.
export function messageLines(message) {
  let repeats = 1;
  const once = (items) => {
    const counts = new Map();
    for (const item of items) counts.set(item, (counts.get(item) || 0) + 1);
    repeats = Math.max(repeats, ...counts.values());
    return [...counts.keys()];
  };
  const folded = String(message || "").replace(/\(([^()]*)\)/g, (_, inner) => `(${once(inner.split(/,\s*/)).join(", ")})`);
  const lines = once(folded.split(/\r?\n/).map((line) => line.trim()).filter(Boolean));
  return { lines, repeats };
}

// Entries said once each, with how often each came up (selector strategies tried per attempt).
export function countedOnce(entries, key) {
  const counted = new Map();
  for (const entry of entries) {
    const k = key(entry);
    const seen = counted.get(k);
    if (seen) seen.times += 1;
    else counted.set(k, { entry, times: 1 });
  }
  return [...counted.values()];
}

// The newest screenshot the job stored (the highest step, then the latest taken).
export function lastScreenshot(artifacts) {
  let last = null;
  for (const a of artifacts) {
    if (a.kind !== "screenshot") continue;
    if (!last || (a.ordinal ?? -1) >= (last.ordinal ?? -1)) last = a;
  }
  return last;
}
