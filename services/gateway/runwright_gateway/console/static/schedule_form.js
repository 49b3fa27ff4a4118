// Creating and editing a schedule in the console: a name, the cron line (its meaning in words
// comes back with the saved schedule), the time zone, the stored runbook it runs (following its
// published version, or pinned to one), the overlap policy and whether it is paused.
import { api } from "./api.js";
import { problemText } from "./people/common.js";
import { h } from "./ui.js";

const OVERLAPS = [
  ["skip", "Skip an occurrence while the previous run is active"],
  ["allow", "Allow overlapping runs"],
  ["cancel_previous", "Cancel the previous run"],
];

function labelled(id, label, input, hint) {
  return h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { class: "muted small field-hint", id: `${id}-hint` }, hint) : null, input);
}

// `schedule`: the one to edit (null: a new one). `done(saved)` runs after a save.
export async function scheduleForm(schedule, done, cancel) {
  const { items: runbooks } = await api("/api/v1/runbooks");
  const ref = schedule?.runbook_ref || "";
  const [refSlug, refVersion] = ref.split("@");
  const prefix = schedule ? `edit-${schedule.id}` : "new-schedule";
  const name = h("input", { id: `${prefix}-name`, type: "text", maxlength: "200", value: schedule?.name || "" });
  const cron = h("input", { id: `${prefix}-cron`, type: "text", maxlength: "200", required: true, spellcheck: "false", value: schedule?.cron || "0 6 * * 1-5" });
  const zone = h("input", { id: `${prefix}-zone`, type: "text", maxlength: "100", value: schedule?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
  const runbook = h(
    "select",
    { id: `${prefix}-runbook` },
    schedule && !ref ? h("option", { value: "" }, "Its own runbook (unchanged)") : null,
    ...runbooks.map((r) => h("option", { value: r.slug, selected: r.slug === refSlug }, `${r.title} (${r.slug})`)),
  );
  const pin = h("input", { id: `${prefix}-pin`, type: "number", min: "1", value: refVersion || "", placeholder: "follow the published version" });
  const overlap = h("select", { id: `${prefix}-overlap` }, ...OVERLAPS.map(([v, text]) => h("option", { value: v, selected: v === (schedule?.overlap || "skip") }, text)));
  const paused = h("input", { id: `${prefix}-paused`, type: "checkbox", checked: Boolean(schedule?.paused) });
  const error = h("p", { class: "error", role: "alert", id: `${prefix}-error` });
  const save = h("button", { type: "submit", class: "primary" }, schedule ? "Save changes" : "Create schedule");
  const form = h(
    "form",
    { class: "card form-section schedule-form", novalidate: true, "aria-label": schedule ? `Edit ${schedule.name}` : "New schedule" },
    h("div", { class: "form-grid" },
      labelled(`${prefix}-name`, "Name (optional)", name),
      labelled(`${prefix}-cron`, "Cron line", cron, "Minute, hour, day of month, month, day of week: 0 6 * * 1-5 is 06:00 on weekdays."),
      labelled(`${prefix}-zone`, "Time zone (IANA)", zone),
      labelled(`${prefix}-runbook`, "Runbook", runbook),
      labelled(`${prefix}-pin`, "Version (empty: the published one when it fires)", pin),
      labelled(`${prefix}-overlap`, "When the previous run is still active", overlap),
    ),
    h("p", {}, h("label", { for: `${prefix}-paused` }, paused, " Paused")),
    error,
    h("div", { class: "row" }, save, cancel ? h("button", { type: "button", class: "secondary", onclick: cancel }, "Cancel") : null),
  );
  if (!runbooks.length && !schedule) {
    return h("p", { class: "card muted" }, "Schedules run stored runbooks: add one on the Runbooks page first (or create a schedule with a runbook of its own through the API).");
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const body = { cron: cron.value.trim(), timezone: zone.value.trim(), overlap: overlap.value, paused: paused.checked };
    if (name.value.trim()) body.name = name.value.trim();
    if (runbook.value) body.runbook_ref = pin.value ? `${runbook.value}@${pin.value}` : runbook.value;
    save.disabled = true;
    try {
      const saved = schedule
        ? await api(`/api/v1/schedules/${schedule.id}`, { method: "PATCH", body, headers: { "If-Match": `"${schedule.version}"` } })
        : await api("/api/v1/schedules", { method: "POST", body });
      done(saved);
    } catch (e) {
      if (e.status === 409) error.textContent = "Someone changed this schedule since you opened it: reload the page and try again.";
      else if (e.status !== 401) error.textContent = `Not saved: ${problemText(e)}`;
    } finally {
      save.disabled = false;
    }
  });
  return form;
}
