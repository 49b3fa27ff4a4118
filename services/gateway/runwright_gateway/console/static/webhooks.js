// The Webhooks page: where the workspace's job notices go (a URL, the events, JSON or Slack),
// each with its delivery log (every attempt's answer), Send test and Redeliver; Admins add and
// delete webhooks (the signing secret is shown once).
import { api } from "./api.js";
import { confirmDialog, copyBox, problemText } from "./people/common.js";
import { can } from "./roles.js";
import { h, toast, when } from "./ui.js";

const EVENTS = ["job.finished", "approval.requested"];
const DELIVERY_LABELS = { pending: "Pending", delivered: "Delivered", failed: "Failed, retrying", gave_up: "Gave up" };

function deliveryRow(hook, d, refresh) {
  const last = d.attempts[d.attempts.length - 1];
  const answer = last ? (last.response_code ? `HTTP ${last.response_code}` : last.error || "no answer") : "not sent yet";
  const redeliver = can("webhooks.manage")
    ? h("button", { type: "button", class: "secondary", "aria-label": `Redeliver ${d.event} of ${new Date(d.created_at).toLocaleString()}` }, "Redeliver")
    : null;
  redeliver?.addEventListener("click", async () => {
    try {
      await api(`/api/v1/webhooks/${hook.id}/deliveries/${d.id}/redeliver`, { method: "POST" });
      toast("Sending it again.");
      setTimeout(refresh, 1500);
    } catch (error) {
      if (error.status !== 401) toast(`Could not redeliver: ${problemText(error)}`);
    }
  });
  return h(
    "tr",
    { dataset: { deliveryId: d.id, status: d.status } },
    h("td", {}, when(d.created_at)),
    h("td", {}, h("code", {}, d.event)),
    h("td", {}, DELIVERY_LABELS[d.status] || d.status),
    h("td", {}, answer),
    h("td", {}, String(d.attempts.length)),
    h("td", {}, redeliver),
  );
}

// The events it hears, changed in place by an Admin (at least one).
function eventsEditor(hook, reload) {
  const manage = can("webhooks.manage");
  const boxes = EVENTS.map((e) => {
    const box = h("input", { type: "checkbox", id: `hook-${hook.id}-${e}`, value: e, checked: hook.events.includes(e), disabled: !manage });
    box.addEventListener("change", async () => {
      const events = boxes.filter((b) => b.checked).map((b) => b.value);
      try {
        await api(`/api/v1/webhooks/${hook.id}`, { method: "PATCH", body: { events } });
        toast(`Hears ${events.join(" and ")} now.`);
      } catch (error) {
        box.checked = !box.checked;
        if (error.status !== 401) toast(`Not changed: ${problemText(error)}`);
      }
      reload();
    });
    return box;
  });
  return h("fieldset", { class: "webhook-events" }, h("legend", { class: "small" }, "Events"), ...boxes.map((b) => h("label", { for: b.id }, b, ` ${b.value} `)));
}

function hookItem(hook, reload) {
  const log = h("tbody");
  const logBox = h(
    "div",
    { hidden: true, class: "delivery-log" },
    h("table", { class: "jobs" }, h("thead", {}, h("tr", {}, ...["Created", "Event", "Status", "Last answer", "Attempts", ""].map((c) => h("th", { scope: "col" }, c)))), log),
  );
  let timer = 0;
  // While the log is open it keeps itself current (attempts land within seconds).
  function follow(open) {
    clearInterval(timer);
    if (open) {
      timer = setInterval(() => {
        if (!document.body.contains(logBox) || logBox.hidden) clearInterval(timer);
        else refresh().catch(() => {});
      }, 2000);
    }
  }
  async function refresh() {
    const { items } = await api(`/api/v1/webhooks/${hook.id}/deliveries?limit=50`);
    log.replaceChildren(...(items.length ? items.map((d) => deliveryRow(hook, d, refresh)) : [h("tr", {}, h("td", { colspan: "6", class: "muted" }, "No deliveries yet."))]));
  }
  const show = h("button", { type: "button", class: "secondary", "aria-expanded": "false" }, "Deliveries");
  show.addEventListener("click", async () => {
    const open = logBox.hidden;
    logBox.hidden = !open;
    show.setAttribute("aria-expanded", String(open));
    follow(open);
    if (open) await refresh();
  });
  const actions = [show];
  if (can("webhooks.manage")) {
    const test = h("button", { type: "button", class: "secondary" }, "Send test");
    test.addEventListener("click", async () => {
      try {
        await api(`/api/v1/webhooks/${hook.id}/test`, { method: "POST" });
        toast("Test notice sent: its answer shows in the deliveries.");
        logBox.hidden = false;
        show.setAttribute("aria-expanded", "true");
        follow(true);
        await refresh();
      } catch (error) {
        if (error.status !== 401) toast(`Could not send a test: ${problemText(error)}`);
      }
    });
    const pause = h("button", { type: "button", class: "secondary" }, hook.active ? "Pause" : "Resume");
    pause.addEventListener("click", async () => {
      try {
        await api(`/api/v1/webhooks/${hook.id}`, { method: "PATCH", body: { active: !hook.active } });
        toast(hook.active ? "Paused: it hears nothing until resumed." : "Resumed.");
        reload();
      } catch (error) {
        if (error.status !== 401) toast(`Not changed: ${problemText(error)}`);
      }
    });
    const remove = h("button", { type: "button", class: "danger" }, "Delete");
    remove.addEventListener("click", async () => {
      const sure = await confirmDialog({ id: "delete-webhook-dialog", title: "Delete this webhook?", body: `${hook.url} hears nothing more; its delivery log goes too.`, confirmLabel: "Delete webhook" });
      if (!sure) return;
      await api(`/api/v1/webhooks/${hook.id}`, { method: "DELETE" });
      toast("Webhook deleted.");
      reload();
    });
    actions.push(test, pause, remove);
  }
  return h(
    "li",
    { class: "card webhook", dataset: { webhookId: hook.id } },
    h("div", { class: "schedule-head" }, h("h2", {}, h("code", {}, hook.url)), h("span", { class: "schedule-actions" }, ...actions)),
    h("p", { class: "muted small" }, hook.active ? "" : h("strong", {}, "Paused · "), `${hook.format === "slack" ? "Slack message" : "signed JSON"} · added `, when(hook.created_at)),
    eventsEditor(hook, reload),
    logBox,
  );
}

function createForm(done) {
  const url = h("input", { id: "webhook-url", type: "url", required: true, placeholder: "https://example.com/runwright" });
  const boxes = EVENTS.map((e) => h("input", { type: "checkbox", id: `webhook-event-${e}`, value: e, checked: e === "job.finished" }));
  const format = h("select", { id: "webhook-format" }, h("option", { value: "json" }, "Signed JSON"), h("option", { value: "slack" }, "Slack incoming webhook"));
  const error = h("p", { class: "error", role: "alert", id: "webhook-error" });
  const secret = h("div", {});
  const form = h(
    "form",
    { class: "card form-section", novalidate: true, "aria-labelledby": "webhook-form-heading" },
    h("h2", { id: "webhook-form-heading" }, "Add a webhook"),
    h("div", { class: "form-grid" },
      h("div", { class: "field" }, h("label", { for: "webhook-url" }, "URL"), url),
      h("div", { class: "field" }, h("label", { for: "webhook-format" }, "Format"), format),
    ),
    h("fieldset", {}, h("legend", {}, "Events"), ...boxes.map((b) => h("label", { for: b.id }, b, ` ${b.value} `))),
    error,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary" }, "Add webhook")),
    secret,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const made = await api("/api/v1/webhooks", { method: "POST", body: { url: url.value.trim(), events: boxes.filter((b) => b.checked).map((b) => b.value), format: format.value } });
      url.value = "";
      secret.replaceChildren(copyBox({ id: "webhook-secret", label: "Its signing secret", value: made.secret, note: "Copy it now to verify X-Runwright-Signature: it will not be shown again." }));
      done();
    } catch (e) {
      if (e.status !== 401) error.textContent = `Not added: ${problemText(e)}`;
    }
  });
  return form;
}

export function renderWebhooks(main) {
  document.title = "Webhooks · Runwright";
  let stopped = false;
  const list = h("ul", { class: "schedules", id: "webhooks" });
  const status = h("p", { class: "muted small", role: "status" }, "Loading webhooks…");
  async function load() {
    try {
      const { items } = await api("/api/v1/webhooks");
      if (stopped) return;
      status.textContent = items.length ? "" : "No webhooks yet.";
      list.replaceChildren(...items.map((hook) => hookItem(hook, load)));
    } catch (error) {
      if (!stopped && error.status !== 401) status.textContent = `Could not load the webhooks: ${error.message}`;
    }
  }
  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Webhooks")),
    h("p", { class: "muted" }, "Job notices sent elsewhere: every attempt is logged, failed ones are retried with backoff."),
    status,
    list,
    can("webhooks.manage") ? createForm(load) : null,
  );
  load();
  return () => {
    stopped = true;
  };
}
