// The Team page: the workspace's members and their roles, its invitations and their status, and
// (for Admins and Owners) inviting, resending, cancelling, changing roles and removing people.
import { api } from "../api.js";
import { can, canManage, me, roleLabel } from "../roles.js";
import { h, toast, when } from "../ui.js";
import { confirmDialog, copyBox, problemText, roleSelect } from "./common.js";

const STATUS_LABELS = { pending: "Pending", accepted: "Accepted", cancelled: "Cancelled", expired: "Expired" };

function table(caption, columns, tbody) {
  return h(
    "div",
    { class: "table-scroll" },
    h("table", { class: "jobs people" }, h("caption", { class: "visually-hidden" }, caption), h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))), tbody),
  );
}

export function renderTeam(main) {
  document.title = "Team · Runwright";
  let stopped = false;
  const manage = can("team.manage");
  const self = me();
  const live = h("p", { id: "team-status", class: "small", role: "status", "aria-live": "polite" });
  const problem = h("p", { id: "team-error", class: "error", role: "alert" });
  const members = h("tbody");
  const invitations = h("tbody");
  const shownLink = h("div", { id: "invite-link" });
  const memberCols = ["Name", "E-mail", "Role", "Joined", "Sessions"].concat(manage ? ["Actions"] : []);
  const inviteCols = ["E-mail", "Role", "Status", "Sent", "Expires"].concat(manage ? ["Actions"] : []);

  function say(text) {
    problem.textContent = "";
    live.textContent = text;
  }
  function fail(what, error) {
    if (error.status === 401 || stopped) return;
    live.textContent = "";
    problem.textContent = `${what}: ${problemText(error)}`;
  }

  function memberRow(m) {
    const mine = self.user && self.user.id === m.user_id;
    const label = m.name && m.name !== m.email ? m.name : m.email;
    let roleCell = roleLabel(m.role);
    let actions = null;
    if (manage && canManage(m)) {
      const select = roleSelect({ "aria-label": `Role of ${m.email}`, class: "inline-select" }, m.role);
      select.addEventListener("change", async () => {
        try {
          await api(`/api/v1/members/${m.user_id}`, { method: "PATCH", body: { role: select.value } });
          say(`${m.email} is now ${roleLabel(select.value)}.`);
        } catch (error) {
          select.value = m.role;
          fail(`Could not change ${m.email}'s role`, error);
        }
        load();
      });
      roleCell = select;
      actions = h(
        "button",
        {
          type: "button",
          class: "secondary",
          "aria-label": `Remove ${m.email}`,
          onclick: async () => {
            const sure = await confirmDialog({
              id: "remove-member-dialog",
              title: `Remove ${m.email}?`,
              body: `${label} loses access to ${self.workspace} and their console sessions end at once.`,
              confirmLabel: "Remove",
            });
            if (!sure) return;
            try {
              await api(`/api/v1/members/${m.user_id}`, { method: "DELETE" });
              say(`${m.email} was removed.`);
            } catch (error) {
              fail(`Could not remove ${m.email}`, error);
            }
            load();
          },
        },
        "Remove",
      );
    }
    return h(
      "tr",
      { dataset: { userId: m.user_id, email: m.email } },
      h("td", {}, m.name || m.email, mine ? h("span", { class: "muted small" }, " (you)") : null),
      h("td", {}, m.email),
      h("td", {}, roleCell),
      h("td", {}, when(m.created_at)),
      h("td", { class: "num" }, String(m.sessions)),
      manage ? h("td", {}, actions) : null,
    );
  }

  function showLink(invitation) {
    if (invitation.mailed || !invitation.link) {
      shownLink.replaceChildren(h("p", { class: "small" }, `The invitation was mailed to ${invitation.email}.`));
      return;
    }
    shownLink.replaceChildren(
      h(
        "div",
        { class: "card notice" },
        copyBox({
          id: "invite-link-value",
          label: `Invitation link for ${invitation.email}`,
          value: invitation.link,
          note: "No mail was sent: give this link to them yourself. It is valid for 7 days and is shown only now.",
        }),
      ),
    );
  }

  function invitationRow(inv) {
    let actions = null;
    if (manage && inv.status === "pending") {
      const resend = h("button", { type: "button", class: "secondary", "aria-label": `Resend the invitation to ${inv.email}` }, "Resend");
      resend.addEventListener("click", async () => {
        try {
          const fresh = await api(`/api/v1/invitations/${inv.id}/resend`, { method: "POST" });
          say(`A new link for ${inv.email}; the old one no longer works.`);
          showLink(fresh);
        } catch (error) {
          fail(`Could not resend to ${inv.email}`, error);
        }
        load();
      });
      const cancel = h("button", { type: "button", class: "secondary", "aria-label": `Cancel the invitation to ${inv.email}` }, "Cancel");
      cancel.addEventListener("click", async () => {
        const sure = await confirmDialog({
          id: "cancel-invitation-dialog",
          title: `Cancel the invitation to ${inv.email}?`,
          body: "Its link stops working.",
          confirmLabel: "Cancel invitation",
        });
        if (!sure) return;
        try {
          await api(`/api/v1/invitations/${inv.id}`, { method: "DELETE" });
          say(`The invitation to ${inv.email} was cancelled.`);
        } catch (error) {
          fail(`Could not cancel the invitation to ${inv.email}`, error);
        }
        load();
      });
      actions = h("span", { class: "row tight" }, resend, cancel);
    }
    return h(
      "tr",
      { dataset: { invitationId: inv.id, email: inv.email, status: inv.status } },
      h("td", {}, inv.email),
      h("td", {}, roleLabel(inv.role)),
      h("td", {}, h("span", { class: `badge badge-invite-${inv.status}` }, STATUS_LABELS[inv.status] || inv.status)),
      h("td", {}, when(inv.sent_at)),
      h("td", {}, when(inv.expires_at)),
      manage ? h("td", {}, actions) : null,
    );
  }

  function inviteForm() {
    const email = h("input", { id: "invite-email", type: "email", name: "email", required: true, autocomplete: "off", spellcheck: "false", "aria-describedby": "invite-error" });
    const role = roleSelect({ id: "invite-role", name: "role" }, "member");
    const error = h("p", { id: "invite-error", class: "error", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, "Invite");
    const form = h(
      "form",
      { class: "card form-section invite", novalidate: true, "aria-labelledby": "invite-heading" },
      h("h2", { id: "invite-heading" }, "Invite someone"),
      h("div", { class: "form-grid" }, h("div", { class: "field" }, h("label", { for: "invite-email" }, "E-mail"), email), h("div", { class: "field" }, h("label", { for: "invite-role" }, "Role"), role)),
      error,
      h("div", { class: "row" }, submit),
      shownLink,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      if (!email.value.trim()) {
        error.textContent = "Enter the e-mail address to invite.";
        email.focus();
        return;
      }
      submit.disabled = true;
      try {
        const made = await api("/api/v1/invitations", { method: "POST", body: { email: email.value.trim(), role: role.value } });
        if (stopped) return;
        say(`${made.email} was invited as ${roleLabel(made.role)}.`);
        showLink(made);
        email.value = "";
        load();
      } catch (e) {
        if (!stopped && e.status !== 401) {
          error.textContent = `Could not invite: ${problemText(e)}`;
          email.focus();
        }
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  main.replaceChildren(
    h("div", { class: "page-head" }, h("h1", {}, "Team"), h("span", { class: "muted" }, self.workspace)),
    manage ? null : h("p", { class: "muted small" }, `Your role (${roleLabel(self.role)}) sees the team; Admins and Owners manage it.`),
    live,
    problem,
    manage ? inviteForm() : null,
    h("section", { "aria-labelledby": "members-heading" }, h("h2", { id: "members-heading" }, "Members"), table("Members of this workspace", memberCols, members)),
    h("section", { "aria-labelledby": "invitations-heading" }, h("h2", { id: "invitations-heading" }, "Invitations"), table("Invitations, newest first", inviteCols, invitations)),
  );

  async function load() {
    try {
      const [m, i] = await Promise.all([api("/api/v1/members"), api("/api/v1/invitations")]);
      if (stopped) return;
      members.replaceChildren(...m.items.map(memberRow));
      invitations.replaceChildren(...(i.items.length ? i.items.map(invitationRow) : [h("tr", {}, h("td", { colspan: String(inviteCols.length), class: "muted" }, "No invitations."))]));
    } catch (error) {
      fail("Could not load the team", error);
    }
  }
  load();
  return () => {
    stopped = true;
  };
}
