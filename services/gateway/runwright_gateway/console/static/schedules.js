// The Schedules page: every schedule with its cron line, zone, overlap policy and next fire times,
// and a Pause / Unpause button that changes only the version the person saw (If-Match).
import { api, ApiError } from "./api.js";
import { confirmDialog } from "./people/common.js";
import { can } from "./roles.js";
import { scheduleForm } from "./schedule_form.js";
import { h, scheduleJobsUrl, toast, when } from "./ui.js";

const PAGE = 50;
const OVERLAP_LABELS = {
  skip: "Skip an occurrence while the previous run is active",
  allow: "Allow overlapping runs",
  cancel_previous: "Cancel the previous run",
};

// Changes only the version the person saw: a lost race is a 409.
function patchSchedule(schedule, changes) {
  return api(`/api/v1/schedules/${schedule.id}`, {
    method: "PATCH",
    body: changes,
    headers: { "If-Match": `"${schedule.version}"` },
  });
}

const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

// A fire time as a wall-clock time in the schedule's own zone (the zone its cron line speaks).
function fireTime(iso, zone) {
  let text = iso;
  try {
    text = new Date(iso).toLocaleString(undefined, {
      timeZone: zone,
      weekday: "short",
      year: "numeric",
      month: "short",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
    });
  } catch {
    text = iso;
  }
  return h("time", { datetime: iso, title: iso }, text);
}

function stateBadge(paused) {
  return h("span", { class: `badge ${paused ? "badge-paused" : "badge-active"}` }, paused ? "Paused" : "Active");
}

export function renderSchedules(main) {
  document.title = "Schedules · Runwright";
  let stopped = false;
  let nextCursor = null;
  const list = h("ul", { class: "schedules", "aria-labelledby": "schedules-heading" });
  const empty = h(
    "p",
    { class: "card muted empty", hidden: true },
    "No schedules yet.",
  );
  const creating = h("div", { id: "new-schedule" });
  const add = h("button", { type: "button", class: "primary", id: "add-schedule", hidden: !can("schedule.edit") }, "New schedule");
  add.addEventListener("click", async () => {
    add.hidden = true;
    const close = () => {
      creating.replaceChildren();
      add.hidden = false;
    };
    creating.replaceChildren(
      await scheduleForm(null, (saved) => {
        close();
        toast(`${saved.name}: created`);
        load();
      }, close),
    );
  });
  const status = h("p", { class: "muted small", role: "status" }, "Loading schedules…");
  const loadMore = h("button", { type: "button", hidden: true }, "Load more");
  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", { id: "schedules-heading" }, "Schedules"), add),
    creating,
    status,
    empty,
    list,
    h("div", { class: "row" }, loadMore),
  );

  function item(schedule) {
    const headingId = `schedule-${schedule.id}-name`;
    const message = h("p", { id: `schedule-${schedule.id}-message`, class: "error small", role: "alert" });
    const toggle = h(
      "button",
      {
        type: "button",
        class: "schedule-toggle",
        "aria-describedby": `${headingId} schedule-${schedule.id}-message`,
      },
      schedule.paused ? "Unpause" : "Pause",
    );
    const upcoming = schedule.next_fire_times || [];
    const node = h(
      "li",
      { class: "card schedule", dataset: { scheduleId: schedule.id, paused: String(schedule.paused) } },
      h(
        "div",
        { class: "schedule-head" },
        h("h2", { id: headingId }, schedule.name),
        stateBadge(schedule.paused),
        h(
          "span",
          { class: "schedule-actions" },
          h("a", { href: scheduleJobsUrl(schedule.id), "aria-describedby": headingId }, "Its jobs"),
          // Pausing changes the schedule: Developers and above (the API refuses others anyway).
          can("schedule.edit") ? toggle : null,
          can("schedule.edit") ? h("button", { type: "button", class: "secondary", onclick: () => editIn(schedule, node), "aria-label": `Edit ${schedule.name}` }, "Edit") : null,
          can("schedule.edit") ? h("button", { type: "button", class: "danger", onclick: () => remove(schedule, node, message), "aria-label": `Delete ${schedule.name}` }, "Delete") : null,
        ),
      ),
      h(
        "dl",
        { class: "values schedule-facts" },
        h("dt", {}, "Runs"),
        h("dd", {}, h("code", { class: "cron" }, schedule.cron), " in ", h("span", { class: "zone" }, schedule.timezone), schedule.description ? h("div", { class: "cron-words" }, `${schedule.description} (${schedule.timezone})`) : null),
        h("dt", {}, "Runbook"),
        h(
          "dd",
          { class: "schedule-runbook" },
          schedule.runbook_ref
            ? [h("a", { href: `/console/runbooks/${encodeURIComponent(schedule.runbook_ref.split("@")[0])}` }, schedule.runbook_ref.split("@")[0]), schedule.runbook_ref.includes("@") ? ` pinned to version ${schedule.runbook_ref.split("@")[1]}` : " (the published version when it fires)"]
            : `its own: ${schedule.runbook?.title || ""}`,
        ),
        h("dt", {}, "Overlap"),
        h("dd", { class: "overlap" }, OVERLAP_LABELS[schedule.overlap] || schedule.overlap, " ", h("code", {}, `(${schedule.overlap})`)),
        h("dt", {}, "Last fired"),
        h("dd", {}, schedule.last_fired_at ? when(schedule.last_fired_at) : "Never"),
        h("dt", {}, "Next fire times"),
        h(
          "dd",
          {},
          upcoming.length
            ? h(
                "ol",
                { class: "fire-times" },
                upcoming.map((iso) =>
                  h("li", {}, fireTime(iso, schedule.timezone), VIEWER_ZONE && VIEWER_ZONE !== schedule.timezone ? h("span", { class: "muted small viewer-time" }, " · your time ", fireTime(iso, VIEWER_ZONE)) : null),
                ),
              )
            : h("span", { class: "muted" }, schedule.paused ? "None while paused" : "None"),
        ),
      ),
      message,
    );
    toggle.addEventListener("click", () => flip(schedule, node, toggle, message));
    return node;
  }

  async function editIn(schedule, node) {
    const form = await scheduleForm(
      schedule,
      (saved) => {
        replace(form, saved, false);
        toast(`${saved.name}: saved`);
      },
      () => form.replaceWith(node),
    );
    node.replaceWith(form);
  }

  async function remove(schedule, node, message) {
    const sure = await confirmDialog({
      id: "delete-schedule-dialog",
      title: `Delete “${schedule.name}”?`,
      body: "It fires no more; the jobs it started stay.",
      confirmLabel: "Delete schedule",
    });
    if (!sure) return;
    try {
      await api(`/api/v1/schedules/${schedule.id}`, { method: "DELETE", headers: { "If-Match": `"${schedule.version}"` } });
      node.remove();
      toast(`${schedule.name}: deleted`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) message.textContent = "Someone changed this schedule since the page loaded: reload it before deleting.";
      else if (!(error instanceof ApiError && error.status === 401)) message.textContent = `Could not delete it: ${error.message}`;
    }
  }

  function replace(node, schedule, focus) {
    const fresh = item(schedule);
    node.replaceWith(fresh);
    if (focus) fresh.querySelector(".schedule-toggle").focus();
    return fresh;
  }

  async function flip(schedule, node, toggle, message) {
    const pausing = !schedule.paused;
    toggle.disabled = true;
    message.textContent = "";
    try {
      const changed = await patchSchedule(schedule, { paused: pausing });
      if (stopped) return;
      replace(node, changed, true);
      toast(`${changed.name}: ${changed.paused ? "paused" : "unpaused"}`);
    } catch (error) {
      if (stopped) return;
      if (error instanceof ApiError && error.status === 409) {
        await reloadRow(
          schedule,
          node,
          "Someone changed this schedule since the page loaded, so nothing was changed. " +
            "It has been reloaded: check its state and try again.",
        );
      } else if (error instanceof ApiError && error.status === 404) {
        message.textContent = "This schedule no longer exists.";
      } else if (!(error instanceof ApiError && error.status === 401)) {
        message.textContent = `Could not ${pausing ? "pause" : "unpause"} the schedule: ${error.message}`;
        toggle.disabled = false;
      }
    }
  }

  async function reloadRow(schedule, node, explanation) {
    try {
      const current = await api(`/api/v1/schedules/${schedule.id}`);
      if (stopped) return;
      const fresh = replace(node, current, true);
      fresh.querySelector("[role=alert]").textContent = explanation;
    } catch (error) {
      if (stopped) return;
      node.querySelector("[role=alert]").textContent = `${explanation} (Reloading failed: ${error.message})`;
    }
  }

  async function load(more = false) {
    loadMore.disabled = true;
    try {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (more && nextCursor) query.set("cursor", nextCursor);
      const page = await api(`/api/v1/schedules?${query}`);
      if (stopped) return;
      if (!more) list.replaceChildren();
      list.append(...page.items.map(item));
      nextCursor = page.next_cursor;
      const count = list.children.length;
      status.textContent = count ? `${count} schedule${count === 1 ? "" : "s"}` : "";
      empty.hidden = count > 0;
      loadMore.hidden = !nextCursor;
    } catch (error) {
      if (stopped || (error instanceof ApiError && error.status === 401)) return;
      status.replaceChildren(
        h("span", { class: "error" }, `Could not load the schedules: ${error.message} `),
        h("button", { type: "button", onclick: () => load(more) }, "Retry"),
      );
    } finally {
      loadMore.disabled = false;
    }
  }

  loadMore.addEventListener("click", () => load(true));
  load();
  return () => {
    stopped = true;
  };
}
