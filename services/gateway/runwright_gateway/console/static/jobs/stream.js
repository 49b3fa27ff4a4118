// The Jobs page's live feed: the workspace-wide event stream (/api/v1/events) of status and step
// events. The first "ready" (and any "reset") gives a position to resume from; the page (re)loads
// what it shows after it, so nothing falls between the list and the stream. Events that arrive
// while the page is being (re)read are held, then applied on top of it; their per-job seq tells
// which the page already reflects.
export function workspaceStream({ onReady, onStatus, onStep, onState }) {
  let held = null;
  const source = new EventSource("/api/v1/events?types=status,step");

  const receive = (handle) => (event) => {
    const data = JSON.parse(event.data);
    if (held) held.push([handle, data]);
    else handle(data);
  };
  const ready = () => {
    onState("Live");
    onReady();
  };
  source.addEventListener("ready", ready);
  source.addEventListener("reset", ready);
  source.addEventListener("status", receive(onStatus));
  source.addEventListener("step", receive(onStep));
  source.addEventListener("open", () => onState("Live"));
  source.addEventListener("error", () => onState("Reconnecting…"));

  return {
    // From now until release(), events wait.
    hold() {
      held = held || [];
    },
    release() {
      const waiting = held || [];
      held = null;
      for (const [handle, data] of waiting) handle(data);
    },
    close: () => source.close(),
  };
}
