// A job's own event stream (/api/v1/jobs/{id}/events): status, step, artifact, report, approval
// and, because this page asks for them with live=1, the live view's screenshot frames.
// EventSource sends the session cookie and resumes with Last-Event-ID by itself.
import { TERMINAL } from "../ui.js";

export function eventsUrl(base) {
  const params = new URLSearchParams({ live: "1" });
  return `${base}/events?${params}`;
}

// `handlers`: status(data), step(data), artifact(data), report(data), approval(data), frame(data),
// ended() once the job has reached a final status (the stream is closed then).
export function jobStream(base, handlers) {
  const source = new EventSource(eventsUrl(base));
  const on = (type, handle) => source.addEventListener(type, (event) => handle(JSON.parse(event.data)));
  on("status", (data) => {
    handlers.status(data);
    if (TERMINAL.has(data.status)) {
      source.close();
      handlers.ended();
    }
  });
  on("step", handlers.step);
  on("artifact", handlers.artifact);
  on("report", handlers.report);
  on("approval", handlers.approval);
  on("screenshot", handlers.frame);
  return { close: () => source.close() };
}
